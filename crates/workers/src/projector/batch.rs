//! One batch in one transaction: the path of an event from the log to its rows.
//!
//! 1. The timeline rows go in (`lead_events`); the events new to the read models come back.
//! 2. The batch's merge requests are decided, and the merged groups of the leads it touches
//!    read and locked; the stored timelines of every lead of those groups are read
//!    (`leadledger_store::timeline`), with their granted ownership requests when one of
//!    their events asks for an owner.
//! 3. `leadledger_projection::project` computes every row (pure).
//! 4. The rows and the checkpoints are written, and the transaction commits.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use leadledger_api::sealed;
use leadledger_projection::{asks_for_owner, project, Batch, Derivations, Logged};
use leadledger_store::checkpoints::CORE;
use leadledger_store::projection::{ProjectionTx, Record};
use leadledger_store::StoreError;
use rdkafka::message::Message;
use sqlx::PgPool;
use uuid::Uuid;

use crate::gauges;

/// What a batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Events new to the read models.
    pub applied: usize,
    /// Events whose id had already been applied.
    pub duplicates: usize,
    /// Leads re-folded.
    pub leads: usize,
}

/// The record of `m`, decoded as `event` (with its JSON `body`), for [`apply`].
pub(crate) fn record<M: Message>(
    m: &M,
    event: leadledger_domain::Event,
    body: serde_json::Value,
) -> Record {
    Record {
        logged: Logged {
            partition: m.partition(),
            offset: m.offset(),
            event,
        },
        body,
        raw: m.payload().unwrap_or_default().to_vec(),
    }
}

/// Opens the sealed contacts of `stored` in place, and of `new` into copies (by event id).
async fn open_contacts(
    tx: &mut ProjectionTx,
    new: &[&Logged],
    stored: &mut [Logged],
) -> Result<HashMap<Uuid, Logged>, StoreError> {
    let ids = sealed::key_ids(
        new.iter()
            .map(|l| &l.event)
            .chain(stored.iter().map(|l| &l.event)),
    );
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let keys = tx.contact_keys(&ids).await?;
    let mut copies: HashMap<Uuid, Logged> = new
        .iter()
        .filter(|l| sealed::is_sealed(&l.event))
        .map(|l| (l.event.event_id, (*l).clone()))
        .collect();
    let opened = sealed::open_all(
        stored
            .iter_mut()
            .chain(copies.values_mut())
            .map(|l| &mut l.event),
        &keys,
    );
    if opened.no_key > 0 {
        metrics::counter!(gauges::CONTACTS_UNOPENED, "why" => "no_key")
            .increment(opened.no_key as u64);
    }
    if opened.failed > 0 {
        metrics::counter!(gauges::CONTACTS_UNOPENED, "why" => "does_not_open")
            .increment(opened.failed as u64);
        tracing::error!(
            contacts = opened.failed,
            "sealed contacts that do not open with their data key (tampered log or key \
             store?): projected without contact"
        );
    }
    Ok(copies)
}

/// Where a batch continues from: for each partition of `next_offsets`, the checkpoint the
/// caller saw committed (`next`, 0 when it has none).
pub(crate) fn continues_from(
    next: &BTreeMap<i32, i64>,
    next_offsets: &BTreeMap<i32, i64>,
) -> BTreeMap<i32, i64> {
    next_offsets
        .keys()
        .map(|p| (*p, next.get(p).copied().unwrap_or(0)))
        .collect()
}

/// Applies `records` and moves the core checkpoints on `topic` from `committed` (per
/// partition, the checkpoint the caller last saw committed) to `next_offsets`, in one
/// transaction.
pub async fn apply(
    pool: &PgPool,
    topic: &str,
    records: &[Record],
    committed: &BTreeMap<i32, i64>,
    next_offsets: &BTreeMap<i32, i64>,
    derive: &Derivations,
) -> Result<BatchOutcome, StoreError> {
    // A batch that decides merges or links holds the membership lock alone from its start.
    let deciding = records.iter().any(|r| {
        let p = &r.logged.event.payload;
        p.is_identity() || p.is_link()
    });
    let mut tx = ProjectionTx::begin(pool, deciding).await?;
    let inserted = tx.insert_events(records).await?;
    let mut outcome = BatchOutcome {
        applied: inserted.len(),
        duplicates: records.len() - inserted.len(),
        leads: 0,
    };
    if !inserted.is_empty() {
        let new: Vec<&Logged> = inserted.iter().map(|r| &r.logged).collect();
        // Identity intents are filed under one key, no lead's: their leads come from the
        // decisions. Merged groups bring in every lead of the group.
        let mut touched: BTreeSet<(String, String)> = new
            .iter()
            .filter(|r| !r.event.payload.is_identity() && !r.event.payload.is_account())
            .map(|r| (r.event.tenant_id.clone(), r.event.lead_id.clone()))
            .collect();
        let regroup = tx.identity(&new, &mut touched).await?;
        // Account facts belong to no lead: decided apart, in their keys' log order.
        tx.accounts(&new).await?;
        let (tenants, ids): (Vec<&str>, Vec<&str>) = touched
            .iter()
            .map(|(t, l)| (t.as_str(), l.as_str()))
            .unzip();
        // Only the older part of each timeline comes from the database: this batch's events
        // are already in memory.
        let new_ids: HashSet<Uuid> = new.iter().map(|r| r.event.event_id).collect();
        let mut stored = tx.timelines(&tenants, &ids, &new_ids).await?;
        // Sealed contacts are opened with their data keys (one read for the batch): the
        // leads rows carry the contact, nothing else does.
        let opened_new = open_contacts(&mut tx, &new, &mut stored).await?;
        let new: Vec<&Logged> = new
            .into_iter()
            .map(|l| opened_new.get(&l.event.event_id).unwrap_or(l))
            .collect();
        let granted = if asks_for_owner(stored.iter().chain(new.iter().copied())) {
            tx.granted(&tenants, &ids).await?
        } else {
            HashSet::new()
        };
        let rows = project(
            Batch {
                new: &new,
                stored,
                granted,
                regroup,
            },
            derive,
        );
        outcome.leads = rows.leads.len();
        tx.write(&rows).await?;
    }
    // The batch span (the caller's current span), for queries that wait on this commit.
    let trace = leadledger_log::trace::current_or(&Default::default());
    tx.move_checkpoints(
        CORE,
        topic,
        committed,
        next_offsets,
        trace.as_ref().map(|t| t.traceparent.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}
