//! The database side of `leadledger rebuild`: a shadow schema that a second projection fills
//! from offset 0 while the live schema keeps serving, and the swap that puts it in place.
//!
//! - [`live_schema`]: where the read models are (the schema of `projector_checkpoints` as
//!   the connection's `search_path` finds it; `public` by default).
//! - [`prepare_shadow`], [`Store::in_schema`]: an empty shadow schema and a pool whose
//!   connections see only it; the ordinary migrations then create the read models there, so
//!   the shadow's tables, indexes, views and policies are the live ones by construction.
//! - [`Swap`]: one transaction that locks every live table (readers and writers wait), lets
//!   the caller bring the shadow level with the live checkpoints, copies the tables that are
//!   not derived from the log ([`CARRIED`]) and the privileges, and renames the live schema
//!   to a retired name and the shadow to the live name, and points the BI contract's views
//!   (schema `bi`) at it. A reader sees the old schema or the
//!   new one, never a mixture and never a half-built one. Processes already connected need
//!   nothing: PostgreSQL re-plans their statements when a schema changes, and their names
//!   resolve to the new tables.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::{checkpoints, Store, StoreError};

const PREPARE: &str = include_str!("sql/rebuild_prepare.sql");
const FOREIGN: &str = include_str!("sql/rebuild_foreign.sql");
const LOCK: &str = include_str!("sql/rebuild_lock.sql");
const LOCK_TIMEOUT: &str = include_str!("sql/rebuild_lock_timeout.sql");
const CARRY: &str = include_str!("sql/rebuild_carry.sql");
const GRANTS: &str = include_str!("sql/rebuild_grants.sql");
const RENAME: &str = include_str!("sql/rebuild_rename.sql");
const DROP: &str = include_str!("sql/rebuild_drop.sql");
const SYNC_COMMIT_ON: &str = include_str!("sql/rebuild_sync_commit_on.sql");
const MAY: &str = include_str!("sql/rebuild_may.sql");
const MIGRATIONS: &str = include_str!("sql/rebuild_migrations.sql");
const SHARE_KEYS: &str = include_str!("sql/rebuild_share_keys.sql");
const MOVE_KEYS: &str = include_str!("sql/rebuild_move_keys.sql");

/// The longest wait for any one table lock of the swap: below PostgreSQL's default
/// `deadlock_timeout` (1 s), so the swap gives way to a transaction it meets instead of the
/// deadlock detector cancelling that transaction.
const LOCK_WAIT: Duration = Duration::from_millis(100);

/// The session advisory lock that allows one rebuild at a time per database.
pub const LOCK_KEY: i64 = 0x6c6c_7265_6275;

/// Tables that are not derived from the log, copied from the live schema into the shadow at
/// the swap (in this order: the app roles before the grants their policy checks, webhook
/// subscriptions before their positions and dead letters). A webhook position written
/// between the copy and the swap is lost, so that notice is delivered again (at least once).
pub const CARRIED: &[&str] = &[
    "rls_app_roles",
    "bi_grants",
    "api_keys",
    "webhook_subscriptions",
    "webhook_cursors",
    "webhook_dead_letters",
];

/// The shadow schema's name for the live schema `live`.
pub fn shadow_name(live: &str) -> String {
    format!("{live}_rebuild")
}

/// The name the live schema `live` is given when a rebuild retires it.
pub fn retired_name(live: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{live}_retired_{}", at.format("%Y%m%d%H%M%S"))
}

pub use crate::db::live_schema;

/// Runs the utility statements that `sql` returns for `args` (identifiers quoted by the
/// server with `format('%I')`).
async fn run_returned(
    conn: &mut PgConnection,
    sql: &str,
    args: &[&str],
) -> Result<usize, StoreError> {
    let mut q = sqlx::query_scalar::<_, String>(sql);
    for a in args {
        q = q.bind(*a);
    }
    let statements = q.fetch_all(&mut *conn).await?;
    for s in &statements {
        sqlx::raw_sql(s).execute(&mut *conn).await?;
    }
    Ok(statements.len())
}

/// Refuses a rebuild this role could not finish: one that cannot rename `live` (not its
/// owner, nor a member of the owning role), cannot create the shadow schema, or would copy
/// only part of the BI grants (row-level security hides other roles' rows from a role that
/// is not one of leadledger's app roles, a superuser or BYPASSRLS).
pub async fn check_may_rebuild(pool: &PgPool, live: &str) -> Result<(), StoreError> {
    let (owns, create, reads_all): (bool, bool, Option<bool>) =
        sqlx::query_as(MAY).bind(live).fetch_one(pool).await?;
    let why = if !owns {
        format!("it does not own schema {live} (connect as its owner, or a member of it)")
    } else if !create {
        "it may not create schemas in this database (GRANT CREATE ON DATABASE)".to_string()
    } else if reads_all != Some(true) {
        "it is not one of leadledger's app roles (rls_app_roles), so row-level security would \
         hide other roles' BI grants from the copy (`leadledger bi app-role`)"
            .to_string()
    } else {
        return Ok(());
    };
    Err(StoreError::Refused(format!(
        "this database role cannot rebuild the read models: {why}"
    )))
}

/// Drops whatever an interrupted rebuild left in `shadow` and creates it empty.
pub async fn prepare_shadow(pool: &PgPool, shadow: &str) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    run_returned(&mut conn, PREPARE, &[shadow]).await?;
    Ok(())
}

/// Makes the shadow read the contacts' data keys of `live` (after the shadow's migrations):
/// ingest makes keys in the live schema while the rebuild projects, and the projection
/// opens contacts with them. The swap then moves the live table into the new schema
/// ([`Swap::finish`]): the keys are never copied (docs/PRIVACY.md).
pub async fn share_contact_keys(pool: &PgPool, live: &str, shadow: &str) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    run_returned(&mut conn, SHARE_KEYS, &[live, shadow]).await?;
    Ok(())
}

/// Drops schema `name` and everything in it (a retired schema, or an abandoned shadow).
pub async fn drop_schema(pool: &PgPool, name: &str) -> Result<(), StoreError> {
    // Dropping locks every object of the schema in turn. A reader's transaction can hold one
    // of them: a prepared statement planned before a swap is revalidated by first locking
    // the relations it was planned on (the retired ones), and its next statement then waits
    // for an object the drop holds. Left to the deadlock detector (1 s), either side may be
    // cancelled, the reader's query too (seen once in a full run, 2026-12-04). So the drop
    // waits at most LOCK_WAIT for each lock, gives way (rolls back, nothing dropped) and
    // tries again once the reader's transaction has ended.
    let ms = format!("{}ms", LOCK_WAIT.as_millis());
    for attempt in 1u64.. {
        let mut tx = pool.begin().await?;
        sqlx::query(LOCK_TIMEOUT)
            .bind(&ms)
            .bind("0")
            .execute(&mut *tx)
            .await?;
        match run_returned(&mut tx, DROP, &[name]).await {
            Err(e) if attempt < 50 && is_lock_conflict(&e) => {
                drop(tx);
                tokio::time::sleep(LOCK_WAIT).await;
            }
            Err(e) => return Err(e),
            Ok(_) => {
                tx.commit().await?;
                return Ok(());
            }
        }
    }
    unreachable!("the loop returns")
}

/// Refuses a swap that would retire with `live` what is not leadledger's: objects with no
/// namesake in `shadow` (which the migrations built) that are not [`CARRIED`], extensions
/// installed in `live`, views elsewhere that read its tables; the error names each.
pub async fn refuse_foreign<'e>(
    db: impl sqlx::PgExecutor<'e>,
    live: &str,
    shadow: &str,
) -> Result<(), StoreError> {
    let foreign: Vec<String> = sqlx::query_scalar(FOREIGN)
        .bind(live)
        .bind(shadow)
        .bind(CARRIED)
        .bind(&crate::bi::CONTRACT_VIEWS[..])
        .fetch_all(db)
        .await?;
    if foreign.is_empty() {
        return Ok(());
    }
    Err(StoreError::Refused(format!(
        "schema {live} holds what is not leadledger's ({}): a swap would retire it with the \
         old read models; move it to another schema first",
        foreign.join(", ")
    )))
}

impl Store {
    /// A store on the same server and database whose connections see only `schema` (their
    /// `search_path`): the rebuild's projection writes the shadow through it.
    pub async fn in_schema(&self, schema: &str, max_connections: u32) -> Result<Store, StoreError> {
        let opts: PgConnectOptions = (*self.pool.connect_options())
            .clone()
            .options([("search_path", schema)]);
        Store::connect_with(opts, max_connections).await
    }
}

/// The swap in progress: every table of the live schema is locked (readers and writers wait)
/// until [`Swap::finish`] commits or the value is dropped (rolled back, nothing changed).
pub struct Swap {
    tx: Transaction<'static, Postgres>,
    live: String,
    /// The live core checkpoints, frozen by the locks: the shadow must reach them before
    /// [`Swap::finish`].
    pub checkpoints: BTreeMap<i32, i64>,
}

impl Swap {
    /// Locks every table of `live` within `within` (each lock waits at most [`LOCK_WAIT`]:
    /// a lock or statement timeout, or a deadlock, is an [`is_lock_conflict`] error: roll
    /// back and try again), and reads the core checkpoints on `topic`.
    pub async fn begin(
        pool: &PgPool,
        live: &str,
        topic: &str,
        within: Duration,
    ) -> Result<Swap, StoreError> {
        let mut tx = pool.begin().await?;
        let ms = |d: Duration| format!("{}ms", d.as_millis().max(1));
        sqlx::query(LOCK_TIMEOUT)
            .bind(ms(LOCK_WAIT.min(within)))
            .bind(ms(within))
            .execute(&mut *tx)
            .await?;
        let lock: String = sqlx::query_scalar(LOCK)
            .bind(live)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::raw_sql(&lock).execute(&mut *tx).await?;
        sqlx::query(LOCK_TIMEOUT)
            .bind("0")
            .bind("0")
            .execute(&mut *tx)
            .await?;
        let checkpoints = checkpoints::load(&mut *tx, checkpoints::CORE, topic).await?;
        Ok(Swap {
            tx,
            live: live.to_string(),
            checkpoints,
        })
    }

    /// Copies the [`CARRIED`] tables and the privileges into `shadow`, renames the live
    /// schema to `retired` and `shadow` to the live name, and commits (durably, whatever the
    /// session's `synchronous_commit`: the shadow's earlier commits are flushed with it).
    pub async fn finish(mut self, shadow: &str, retired: &str) -> Result<(), StoreError> {
        // Checked again under the locks: nothing appeared or was migrated since the start.
        refuse_foreign(&mut *self.tx, &self.live, shadow).await?;
        let same: String = sqlx::query_scalar(MIGRATIONS)
            .bind(&self.live)
            .bind(shadow)
            .fetch_one(&mut *self.tx)
            .await?;
        if !sqlx::query_scalar::<_, bool>(&same)
            .fetch_one(&mut *self.tx)
            .await?
        {
            return Err(StoreError::Refused(format!(
                "schema {} is at another migration than the one this binary built the shadow \
                 with: rebuild with the binary the service runs",
                self.live
            )));
        }
        let carry: Vec<String> = sqlx::query_scalar(CARRY)
            .bind(&self.live)
            .bind(shadow)
            .bind(CARRIED)
            .fetch_all(&mut *self.tx)
            .await?;
        for s in &carry {
            sqlx::raw_sql(s).execute(&mut *self.tx).await?;
        }
        run_returned(&mut self.tx, MOVE_KEYS, &[&self.live, shadow]).await?;
        run_returned(&mut self.tx, GRANTS, &[&self.live, shadow]).await?;
        run_returned(&mut self.tx, RENAME, &[&self.live, shadow, retired]).await?;
        // The BI contract's views still read the retired schema: point them at the new one,
        // in the same transaction (a BI reader sees the old rows or the new, never neither).
        crate::bi::publish_in(&mut self.tx, &self.live).await?;
        sqlx::query(SYNC_COMMIT_ON).execute(&mut *self.tx).await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// Whether `e` is the swap giving way to a live transaction (lock or statement timeout,
/// deadlock): roll back and try again.
pub fn is_lock_conflict(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(sqlx::Error::Database(d))
        if matches!(d.code().as_deref(), Some("55P03" | "57014" | "40P01")))
}
