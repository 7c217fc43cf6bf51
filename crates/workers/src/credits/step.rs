//! One step of the credits worker, in one REPEATABLE READ transaction: take queued leads,
//! recompute them, the leads they referred and their account colleagues, write what changed, and when the queue is
//! empty store the core checkpoints the snapshot saw as the credits' own.
//!
//! What is recomputed and what changed is `leadledger_projection::credits` (pure); the rows
//! come from and go to `leadledger_store::credits`.

use std::collections::{BTreeSet, HashMap};

use leadledger_attribution::account;
use leadledger_attribution::precompute::ModelSet;
use leadledger_attribution::{journey, Journey};
use leadledger_domain::Event;
use leadledger_projection::credits::{self as compute, touches_fingerprint, LeadKey};
use leadledger_store::checkpoints::{self, CORE};
use leadledger_store::credits::{self, BulkTotals, PROJECTION};
use leadledger_store::{timeline, StoreError};
use sqlx::PgConnection;

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
/// end (`credits::write_bulk_totals`) instead of upserting the same cells batch after batch.
pub async fn step_into(
    conn: &mut PgConnection,
    set: &ModelSet,
    topic: &str,
    limit: i64,
    mut bulk: Option<&mut BulkTotals>,
) -> Result<StepOutcome, StoreError> {
    let mut tx = credits::begin_step(conn).await?;
    let core = checkpoints::load(&mut *tx, CORE, topic).await?;
    let rows = credits::take_queued(&mut tx, limit).await?;
    let mut out = StepOutcome {
        caught_up: (rows.len() as i64) < limit,
        ..Default::default()
    };
    if !rows.is_empty() {
        let mut dirty: BTreeSet<LeadKey> = rows
            .iter()
            .map(|(_, t, l)| (t.clone(), l.clone()))
            .collect();
        out.queued = dirty.len();
        // The leads they referred: a referrer's source is on their paths. In a rebuild too:
        // the projector goes on queueing while it runs, and a referrer changed then must
        // take along leads an earlier step of the rebuild already computed.
        let referred = credits::referrals::referred_by(&mut tx, &dirty).await?;
        dirty.extend(referred);
        (out.recomputed, out.changed) =
            recompute(&mut tx, set, &dirty, bulk.as_deref_mut()).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        credits::drop_queued(&mut tx, &ids).await?;
    }
    if out.caught_up && bulk.is_none() {
        let mine = checkpoints::load(&mut *tx, PROJECTION, topic).await?;
        if mine != core && !core.is_empty() {
            credits::set_checkpoints(&mut tx, topic, &core).await?;
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
    let stored = credits::stored_accounts(conn, dirty).await?;
    let accounts = compute::accounts(&journeys, &stored);
    let targets: BTreeSet<LeadKey> = credits::members_of(conn, &accounts.recompute)
        .await?
        .into_iter()
        .chain(dirty.iter().cloned())
        .collect();
    let missing: BTreeSet<LeadKey> = credits::members_of(conn, &accounts.read)
        .await?
        .into_iter()
        .chain(targets.iter().cloned())
        .filter(|m| !journeys.contains_key(m))
        .collect();
    journeys.extend(load_journeys(conn, &missing).await?);

    let fresh = compute::fresh(set, &journeys, &targets);
    let old = credits::stored_rows(conn, &targets).await?;
    let (changed, totals) = compute::changes(set, &fresh, &old);
    credits::replace_rows(conn, &changed).await?;
    match bulk {
        Some(sink) => compute::merge_totals(sink, totals),
        None => credits::add_totals(conn, set.models.len(), totals).await?,
    }
    let accounts_rows: Vec<(&str, &str, String, i64)> = journeys
        .iter()
        .filter(|(k, _)| dirty.contains(*k))
        .map(|((t, l), j)| {
            (
                t.as_str(),
                l.as_str(),
                account::key_of(j).text(),
                touches_fingerprint(j),
            )
        })
        .collect();
    credits::store_accounts(conn, accounts_rows).await?;
    let gone: Vec<(&str, &str)> = dirty
        .iter()
        .filter(|k| !journeys.contains_key(*k))
        .map(|(t, l)| (t.as_str(), l.as_str()))
        .collect();
    credits::drop_accounts(conn, &gone).await?;
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
    let (tenants, ids): (Vec<&str>, Vec<&str>) =
        leads.iter().map(|(t, l)| (t.as_str(), l.as_str())).unzip();
    // A survivor's journey holds its merged leads' touches; a merged lead has none of its own.
    let stored = timeline::of_groups(&mut *conn, &tenants, &ids).await?;
    let mut events: HashMap<LeadKey, Vec<Event>> = HashMap::new();
    for r in stored {
        let key = (r.event.tenant_id.clone(), r.event.lead_id.clone());
        events.entry(key).or_default().push(r.event);
    }
    let mut journeys: HashMap<LeadKey, Journey> = events
        .into_iter()
        .map(|(k, evs)| (k, journey(&evs)))
        .collect();
    credits::referrals::resolve(
        &mut *conn,
        journeys.iter_mut().map(|((t, _), j)| (t.as_str(), j)),
    )
    .await?;
    Ok(journeys)
}
