//! The credits projection: precomputed attribution credits (`migrations/0002_attribution.sql`).
//!
//! The core projector queues every lead whose timeline changed in `attribution_dirty`,
//! inside its own transaction. [`step`] drains that queue in REPEATABLE READ transactions:
//! one snapshot gives the core checkpoints, the queued leads and their timelines, so when a
//! step empties the queue its credits reflect exactly the log up to those checkpoints, which
//! it then stores as the `attribution` projection's checkpoints (the consistency-token
//! position of attribution queries). A lead's change also changes the account-level credits
//! of its colleagues, so a step recomputes every lead of the accounts it touches, compares
//! with the stored rows and writes only what changed, with the totals moved by
//! "new − old".
//!
//! One worker at a time: the caller holds [`LOCK_KEY`] as a session advisory lock on the
//! connection it passes in (see `leadledger_workers::credits`).
//! # Layout
//! - this module: the queue, the model set, and a step's transaction; what a step computes is
//!   `leadledger_projection::credits` (pure).
//! - `rows`: a lead's stored credit rows and account.
//! - `totals`: the additive totals, moved by "new − old".
//! - `report`: the precomputed report read by attribution queries.
//! - `sql/`: the static statements.

mod report;
mod rows;
mod totals;

use std::collections::{BTreeSet, HashMap};

use leadledger_attribution::account;
use leadledger_attribution::precompute::ModelSet;
use leadledger_attribution::{journey, Journey};
use leadledger_domain::Event;
use leadledger_projection::credits::{self as compute, key_text, touches_fingerprint, LeadKey};
use sqlx::{Acquire, PgConnection};

use crate::checkpoints::{self, CORE};
use crate::StoreError;

pub use report::{report, Report};
pub use totals::{write_bulk_totals, BulkTotals};

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
const SYNC_COMMIT_OFF: &str = include_str!("sql/synchronous_commit_off.sql");

/// What a step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepOutcome {
    /// Distinct leads taken from the queue.
    pub queued: usize,
    /// Leads recomputed (the queued ones and their account colleagues).
    pub recomputed: usize,
    /// Leads whose stored credits changed.
    pub changed: usize,
    /// The queue was empty after this step and the checkpoints were brought level.
    pub caught_up: bool,
}

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

/// Takes up to `limit` queued rows, recomputes their leads and colleagues, and, when the
/// queue is empty afterwards, moves the credits' checkpoints on `topic` to the core ones.
pub async fn step(
    conn: &mut PgConnection,
    set: &ModelSet,
    topic: &str,
    limit: i64,
) -> Result<StepOutcome, StoreError> {
    step_into(conn, set, topic, limit, None).await
}

/// [`step`], except that with `bulk` the totals' changes are added there instead of being
/// written, and the checkpoints are left alone: a rebuild writes every total once at the
/// end ([`write_bulk_totals`]) instead of upserting the same cells batch after batch.
pub async fn step_into(
    conn: &mut PgConnection,
    set: &ModelSet,
    topic: &str,
    limit: i64,
    mut bulk: Option<&mut BulkTotals>,
) -> Result<StepOutcome, StoreError> {
    let mut tx = conn.begin().await?;
    sqlx::query(REPEATABLE_READ).execute(&mut *tx).await?;
    sqlx::query(SYNC_COMMIT_OFF).execute(&mut *tx).await?;
    let core = checkpoints::load(&mut *tx, CORE, topic).await?;
    let rows: Vec<(i64, String, String)> = sqlx::query_as(TAKE_QUEUED)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    let mut out = StepOutcome {
        caught_up: (rows.len() as i64) < limit,
        ..Default::default()
    };
    if !rows.is_empty() {
        let dirty: BTreeSet<LeadKey> = rows
            .iter()
            .map(|(_, t, l)| (t.clone(), l.clone()))
            .collect();
        out.queued = dirty.len();
        (out.recomputed, out.changed) =
            recompute(&mut tx, set, &dirty, bulk.as_deref_mut()).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        sqlx::query(DROP_QUEUED)
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
    }
    if out.caught_up && bulk.is_none() {
        let mine = checkpoints::load(&mut *tx, PROJECTION, topic).await?;
        if mine != core && !core.is_empty() {
            let (parts, offs): (Vec<i32>, Vec<i64>) = core.iter().map(|(p, o)| (*p, *o)).unzip();
            sqlx::query(SET_CHECKPOINTS)
                .bind(PROJECTION)
                .bind(topic)
                .bind(&parts)
                .bind(&offs)
                .bind(NOTIFY_CHANNEL)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// Recomputes `dirty` and their colleagues; returns (recomputed, changed).
async fn recompute(
    conn: &mut PgConnection,
    set: &ModelSet,
    dirty: &BTreeSet<LeadKey>,
    bulk: Option<&mut BulkTotals>,
) -> Result<(usize, usize), StoreError> {
    let mut journeys = load_journeys(conn, dirty).await?;
    let stored = rows::stored_accounts(conn, dirty).await?;
    let accounts = compute::accounts(&journeys, &stored);
    let targets: BTreeSet<LeadKey> = rows::members_of(conn, &accounts.recompute)
        .await?
        .into_iter()
        .chain(dirty.iter().cloned())
        .collect();
    let missing: BTreeSet<LeadKey> = rows::members_of(conn, &accounts.read)
        .await?
        .into_iter()
        .chain(targets.iter().cloned())
        .filter(|m| !journeys.contains_key(m))
        .collect();
    journeys.extend(load_journeys(conn, &missing).await?);

    let fresh = compute::fresh(set, &journeys, &targets);
    let old = rows::stored(conn, &targets).await?;
    let (changed, totals) = compute::changes(set, &fresh, &old);
    rows::replace(conn, &changed).await?;
    match bulk {
        Some(sink) => compute::merge_totals(sink, totals),
        None => totals::add(conn, set.models.len(), totals).await?,
    }
    let accounts_rows: Vec<(&str, &str, String, i64)> = journeys
        .iter()
        .filter(|(k, _)| dirty.contains(*k))
        .map(|((t, l), j)| {
            (
                t.as_str(),
                l.as_str(),
                key_text(&account::key_of(j)),
                touches_fingerprint(j),
            )
        })
        .collect();
    rows::store_accounts(conn, accounts_rows).await?;
    Ok((fresh.len(), changed.len()))
}

/// The journeys of `leads`, from their stored timelines (the one timeline reader).
async fn load_journeys(
    conn: &mut PgConnection,
    leads: &BTreeSet<LeadKey>,
) -> Result<HashMap<LeadKey, Journey>, StoreError> {
    if leads.is_empty() {
        return Ok(HashMap::new());
    }
    let (tenants, ids) = rows::unzip_leads(leads);
    let stored = crate::timeline::of_leads(&mut *conn, &tenants, &ids, &Default::default()).await?;
    let mut events: HashMap<LeadKey, Vec<Event>> = HashMap::new();
    for r in stored {
        let key = (r.event.tenant_id.clone(), r.event.lead_id.clone());
        events.entry(key).or_default().push(r.event);
    }
    Ok(events
        .into_iter()
        .map(|(k, evs)| (k, journey(&evs)))
        .collect())
}
