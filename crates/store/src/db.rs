//! Connecting to PostgreSQL and running migrations.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::StoreError;

const DATABASE_EXISTS: &str = include_str!("sql/db_exists.sql");
const PING: &str = include_str!("sql/db_ping.sql");
const SNAPSHOT: &str = include_str!("sql/db_snapshot.sql");
const LIVE_SCHEMA: &str = include_str!("sql/db_live_schema.sql");
const MIGRATED: &str = include_str!("sql/db_migrated.sql");

/// The schema the read models live in (where this pool's `search_path` finds them; `public`
/// by default): the one `leadledger rebuild` replaces and the BI contract reads.
pub async fn live_schema(pool: &PgPool) -> Result<String, StoreError> {
    Ok(sqlx::query_scalar(LIVE_SCHEMA).fetch_one(pool).await?)
}

/// A read-only REPEATABLE READ transaction on `conn`: one snapshot of the read models for
/// reads that must agree with each other (an SLA worker tick, a `Reasons` answer's counts
/// and list).
pub async fn snapshot(
    conn: &mut sqlx::PgConnection,
) -> Result<sqlx::Transaction<'_, sqlx::Postgres>, StoreError> {
    let mut tx = Connection::begin(conn).await?;
    sqlx::query(SNAPSHOT).execute(&mut *tx).await?;
    Ok(tx)
}

/// How long the workers' pools wait for a free connection (they retry after it).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The migrations in `crates/store/migrations`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A handle on the read-model database.
#[derive(Clone, Debug)]
pub struct Store {
    pub pool: PgPool,
}

impl Store {
    /// Connects with a pool of `max_connections`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        Self::connect_with(url.parse()?, max_connections).await
    }

    /// [`Store::connect`] with options already parsed.
    pub async fn connect_with(
        opts: PgConnectOptions,
        max_connections: u32,
    ) -> Result<Self, StoreError> {
        let pool = Self::pool_options(max_connections, ACQUIRE_TIMEOUT)
            .connect_with(opts.log_statements(tracing::log::LevelFilter::Trace))
            .await?;
        Ok(Self { pool })
    }

    /// A pool whose callers wait at most `acquire_timeout` for a free connection, then fail
    /// with [`StoreError::is_saturated`] (the read side's load shedding, `limits.db_wait_ms`).
    /// It connects lazily: a short wait must not fail a process's start on a slow connect.
    pub fn connect_waiting(
        opts: PgConnectOptions,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Self {
        Self {
            pool: Self::pool_options(max_connections, acquire_timeout)
                .connect_lazy_with(opts.log_statements(tracing::log::LevelFilter::Trace)),
        }
    }

    fn pool_options(max_connections: u32, acquire_timeout: Duration) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            // A connection keeps the largest message it ever sent or received in its buffers
            // (a projector batch of 2 000 events is a multi-megabyte UNNEST insert): every
            // pooled connection ended up holding several MB for good. Shrinking on release
            // costs nothing when the buffers are already small (8 KiB).
            .after_release(|conn, _| {
                Box::pin(async move {
                    conn.shrink_buffers();
                    Ok(true)
                })
            })
    }

    /// Whether the database answers a query now (health probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query_scalar::<_, i32>(PING)
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    /// A `LISTEN` session on a connection of its own, outside the pool. sqlx's `PgListener`
    /// built on the shared pool hands its connection back to that pool when it is dropped
    /// (after an `UNLISTEN *` that can fail while backends are being terminated). A projection
    /// transaction can only be sent a notification on a connection that listens, and CI saw
    /// one fail with "unexpected message: NotificationResponse" on 2026-11-23 while the fault
    /// test terminated backends (its commit outcome became unknown, so the batch was applied
    /// again record by record and counted as duplicates). With a pool of its own no pooled
    /// connection ever listens, whatever the cause was.
    pub async fn listener(&self) -> Result<sqlx::postgres::PgListener, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy_with((*self.pool.connect_options()).clone());
        Ok(sqlx::postgres::PgListener::connect_with(&pool).await?)
    }

    /// Runs pending migrations (idempotent; safe from several processes at once).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Checks, without changing anything, that the schema is at this binary's newest
    /// migration (`database.migrate = check`: a process whose database user may only read
    /// and write rows). Refused, naming the fix, when it is behind; a schema ahead of the
    /// binary (a newer version migrated it) is accepted, as migrations only add.
    pub async fn check_migrated(&self) -> Result<(), StoreError> {
        let want = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let have: i64 = match sqlx::query_scalar(MIGRATED).fetch_one(&self.pool).await {
            Ok(v) => v,
            // No ledger table: never migrated.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => 0,
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => {
                return Err(StoreError::Refused(
                    "the database user may not read _sqlx_migrations, which database.migrate \
                     = check reads: GRANT SELECT ON _sqlx_migrations (and what the role reads, \
                     api_keys for authentication) to it"
                        .into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if have < want {
            return Err(StoreError::Refused(format!(
                "the database is at migration {have}, this binary needs {want}: run \
                 `leadledger migrate` as the schema's owner (database.migrate = check never \
                 migrates)"
            )));
        }
        Ok(())
    }

    /// Creates the database named in `url` if it does not exist, connecting to the
    /// `postgres` database of the same server to do so.
    pub async fn create_database(url: &str) -> Result<(), StoreError> {
        let opts: PgConnectOptions = url.parse()?;
        let name = opts
            .get_database()
            .ok_or_else(|| StoreError::Corrupt("database url names no database".into()))?
            .to_string();
        let mut conn = sqlx::PgConnection::connect_with(&opts.clone().database("postgres")).await?;
        let exists: bool = sqlx::query_scalar(DATABASE_EXISTS)
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
        if !exists {
            // Dynamic SQL: the database name is an identifier (quoted here), not a parameter.
            let stmt = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
            if let Err(e) = sqlx::query(&stmt).execute(&mut conn).await {
                // Another process may have created it at the same moment.
                let dup =
                    matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42P04"));
                if !dup {
                    return Err(e.into());
                }
            }
        }
        conn.close().await?;
        Ok(())
    }

    /// Drops the database named in `url` (tests clean up with this).
    pub async fn drop_database(url: &str) -> Result<(), StoreError> {
        let opts: PgConnectOptions = url.parse()?;
        let Some(name) = opts.get_database().map(str::to_string) else {
            return Ok(());
        };
        let mut conn = sqlx::PgConnection::connect_with(&opts.database("postgres")).await?;
        // Dynamic SQL: the database name is an identifier (quoted here), not a parameter.
        let stmt = format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            name.replace('"', "\"\"")
        );
        sqlx::query(&stmt).execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }
}
