//! The credits projection: precomputed attribution credits (`migrations/0002_attribution.sql`).
//!
//! The core projector queues every lead whose timeline changed in `attribution_dirty`,
//! inside its own transaction. The credits worker drains that queue in REPEATABLE READ transactions:
//! one snapshot gives the core checkpoints, the queued leads and their timelines, so when a
//! step empties the queue its credits reflect exactly the log up to those checkpoints, which
//! it then stores as the `attribution` projection's checkpoints (the consistency-token
//! position of attribution queries). A lead's change also changes the account-level credits
//! of its colleagues, so a step recomputes every lead of the accounts it touches, compares
//! with the stored rows and writes only what changed, with the totals moved by
//! "new − old". A lead's source also changes the referral touches of the leads it referred:
//! those are recomputed with it ([`referrals`]).
//!
//! One worker at a time: the caller holds [`LOCK_KEY`] as a session advisory lock on the
//! connection it passes in (see `leadledger_workers::credits`).
//!
//! # Layout
//! - this module: the queue, the model set, a step's transaction and the credits'
//!   checkpoints. The step itself (what to recompute, in what order) is the credits worker's
//!   (`leadledger_workers::credits`), what it computes is `leadledger_projection::credits`.
//! - `rows`: a lead's stored credit rows and account.
//! - `totals`: the additive totals, moved by "new − old".
//! - `report`: the precomputed report read by attribution queries.
//! - [`referrals`]: the leads a lead referred, and referrers' sources.
//! - `sql/`: the static statements.

pub mod referrals;
mod report;
mod rows;
mod totals;

use std::collections::BTreeMap;

use leadledger_attribution::precompute::ModelSet;
use sqlx::{Acquire, PgConnection, Postgres, Transaction};

use crate::checkpoints::{self, CORE};
use crate::StoreError;

pub use report::{report, Report};
pub use rows::{
    drop_accounts, members_of, replace_rows, store_accounts, stored_accounts, stored_rows,
};
pub use totals::{add_totals, write_bulk_totals, BulkTotals};

/// The projection name of the credits in `projector_checkpoints`.
pub const PROJECTION: &str = "attribution";

/// Notified at the commit of a step that moved the credits' checkpoints.
pub const NOTIFY_CHANNEL: &str = "leadledger_attributed";

/// The session advisory lock that elects the one credits worker.
pub const LOCK_KEY: i64 = 0x6c6c_6174_7472;

const MODEL_SET: &str = include_str!("sql/model_set.sql");
const CLEAR: &str = include_str!("sql/clear.sql");
const FORGET_CHECKPOINTS: &str = include_str!("sql/forget_checkpoints.sql");
const STORE_MODEL_SET: &str = include_str!("sql/store_model_set.sql");
const QUEUE_EVERY_LEAD: &str = include_str!("sql/queue_every_lead.sql");
const FORGET_MODEL_SET: &str = include_str!("sql/forget_model_set.sql");
const QUEUED: &str = include_str!("sql/queued.sql");
const LEAD_COUNT: &str = include_str!("sql/lead_count.sql");
const TAKE_QUEUED: &str = include_str!("sql/take_queued.sql");
const DROP_QUEUED: &str = include_str!("sql/drop_queued.sql");
const SET_CHECKPOINTS: &str = include_str!("sql/set_checkpoints.sql");
const REPEATABLE_READ: &str = include_str!("sql/repeatable_read.sql");
const SYNC_COMMIT_OFF: &str = include_str!("../sql/synchronous_commit_off.sql");

/// Makes sure the stored credits were computed with `set`; if not (first start, changed
/// configuration), clears them and queues every lead. Returns whether it did.
pub async fn ensure_model_set(conn: &mut PgConnection, set: &ModelSet) -> Result<bool, StoreError> {
    let stored: Option<String> = sqlx::query_scalar(MODEL_SET)
        .fetch_optional(&mut *conn)
        .await?;
    if stored.as_deref() == Some(set.fingerprint().as_str()) {
        return Ok(false);
    }
    rebuild(conn, set).await?;
    Ok(true)
}

/// Clears every credit and queues every lead: the next steps re-project all credits from
/// the timelines (which are themselves the log's).
pub async fn rebuild(conn: &mut PgConnection, set: &ModelSet) -> Result<(), StoreError> {
    let mut tx = conn.begin().await?;
    sqlx::query(CLEAR).execute(&mut *tx).await?;
    sqlx::query(FORGET_CHECKPOINTS)
        .bind(PROJECTION)
        .execute(&mut *tx)
        .await?;
    let names: Vec<&str> = set.models.iter().map(|(n, _)| n.as_str()).collect();
    sqlx::query(STORE_MODEL_SET)
        .bind(set.fingerprint())
        .bind(&names)
        .execute(&mut *tx)
        .await?;
    sqlx::query(QUEUE_EVERY_LEAD).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Asks the running worker to re-project every credit: it finds no stored model set and
/// rebuilds as on a configuration change.
pub async fn request_rebuild(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query(FORGET_MODEL_SET).execute(conn).await?;
    Ok(())
}

/// Whether the credits are level with the core projection on `topic`: a model set is
/// stored, nothing is queued and the checkpoints agree.
pub async fn level(conn: &mut PgConnection, topic: &str) -> Result<bool, StoreError> {
    let state: Option<String> = sqlx::query_scalar(MODEL_SET)
        .fetch_optional(&mut *conn)
        .await?;
    if state.is_none() || queued(&mut *conn).await? > 0 {
        return Ok(false);
    }
    let core = checkpoints::load(&mut *conn, CORE, topic).await?;
    let mine = checkpoints::load(&mut *conn, PROJECTION, topic).await?;
    Ok(core == mine)
}

/// How many leads the read models hold (what a rebuild re-projects).
pub async fn lead_count(conn: &mut PgConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(LEAD_COUNT).fetch_one(conn).await?)
}

/// Leads still queued (0 when the credits are level with the core projection).
pub async fn queued(conn: &mut PgConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(QUEUED).fetch_one(conn).await?)
}

/// A step's transaction: REPEATABLE READ, so one snapshot gives the core checkpoints, the
/// queued leads and their timelines; asynchronous commit as for the core projection (a lost
/// tail transaction is recomputed from the queue).
pub async fn begin_step(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>, StoreError> {
    let mut tx = conn.begin().await?;
    sqlx::query(REPEATABLE_READ).execute(&mut *tx).await?;
    sqlx::query(SYNC_COMMIT_OFF).execute(&mut *tx).await?;
    Ok(tx)
}

/// Up to `limit` queued rows, oldest first: `(queue id, tenant, lead)`.
pub async fn take_queued(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<(i64, String, String)>, StoreError> {
    Ok(sqlx::query_as(TAKE_QUEUED)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

/// Removes these queue rows (their leads were recomputed in the same transaction).
pub async fn drop_queued(conn: &mut PgConnection, ids: &[i64]) -> Result<(), StoreError> {
    sqlx::query(DROP_QUEUED).bind(ids).execute(conn).await?;
    Ok(())
}

/// Stores `core` as the credits' checkpoints on `topic` (they are level with it) and wakes
/// the attribution queries waiting on them, at commit.
pub async fn set_checkpoints(
    conn: &mut PgConnection,
    topic: &str,
    core: &BTreeMap<i32, i64>,
) -> Result<(), StoreError> {
    let (parts, offs): (Vec<i32>, Vec<i64>) = core.iter().map(|(p, o)| (*p, *o)).unzip();
    sqlx::query(SET_CHECKPOINTS)
        .bind(PROJECTION)
        .bind(topic)
        .bind(&parts)
        .bind(&offs)
        .bind(NOTIFY_CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}
