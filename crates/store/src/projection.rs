//! The projection transaction.
//!
//! One batch of records is applied in ONE PostgreSQL transaction that also stores the
//! `(topic, partition, next_offset)` checkpoint. Either all of it commits or none of it does,
//! so a crash anywhere leaves read models and checkpoint consistent; the projector seeks to
//! the checkpoint on restart and nothing is applied twice (and the event-id primary key
//! catches duplicates that arrive under different offsets).
//!
//! Derived state is never patched incrementally: every lead touched by the batch is
//! re-folded from its whole timeline in `(occurred_at, event_id)` order, so late and
//! out-of-order facts land exactly where they belong.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use leadledger_domain::{fold_with, Event, LeadState, Payload};
use leadledger_sla::lead_feedback;
use serde_json::Value;
use sqlx::{Postgres, Transaction};

use crate::funnel_cells::{self, LeadCell};
use crate::handoff::{self, ClockRows, Derivations};
use crate::lead_rows::LeadRows;
use crate::StoreError;

/// One decoded record of the events topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub event: Event,
    /// `event` as JSON, stored in `lead_events.body` (made once, by the decoder).
    pub body: Value,
    /// The value exactly as read from the log.
    pub raw: Vec<u8>,
}

/// Turns a stored record value (`lead_events.raw`, exactly as read from the log) and its
/// `event_type` column back into its event. The projector passes the decoder it applies the
/// log with, so the older part of a timeline is read back as the same event it applied, for
/// a protobuf decode instead of jsonb → text → JSON (the re-fold's read was the largest
/// statement of a batch; docs/BENCHMARKS.md). `event_type` stands in for the Kafka header a
/// record without a type in its value was read with.
pub type DecodeStored = fn(&[u8], &str) -> Result<Event, String>;

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

/// Applies `records` and moves the checkpoints of `projection` on `topic` to `next_offsets`
/// (partition → next offset to read), all in one transaction.
///
/// `committed` holds, per partition of the batch, the checkpoint the caller last saw
/// committed (where its records continue from). A stored checkpoint behind it means the
/// database lost committed transactions since (see below): nothing is applied and
/// [`StoreError::CheckpointBehind`] tells the caller to read the partition again from the
/// stored checkpoint. Without this check the batch would move the checkpoint over the lost
/// records and they would never be applied.
// Each argument is a distinct input of the one transaction (where, what, from which
// checkpoints to which, derived how, read back how); bundling them would only rename them.
#[allow(clippy::too_many_arguments)]
pub async fn apply_batch(
    pool: &sqlx::PgPool,
    projection: &str,
    topic: &str,
    records: &[Record],
    committed: &BTreeMap<i32, i64>,
    next_offsets: &BTreeMap<i32, i64>,
    derive: &Derivations,
    decode: DecodeStored,
) -> Result<BatchOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    // Safe for a projection: a crash can lose only whole recent transactions, each together
    // with its checkpoint (what is durable is always a prefix of the commit order), and the
    // projector re-applies them from the log. Saves a WAL flush per batch, which is most of a
    // small batch's latency. The check in `store_checkpoints` is what makes the projector
    // notice such a loss: its own view of the checkpoints is ahead of the database's after the
    // crash, and even on a fresh connection (the pool replaces dead ones silently) the stored
    // checkpoint is compared with it in the transaction that would move it.
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    let mut outcome = BatchOutcome::default();

    let inserted = insert_events(&mut tx, records).await?;
    outcome.applied = inserted.len();
    outcome.duplicates = records.len() - inserted.len();

    if !inserted.is_empty() {
        // Ownership requests first: the re-fold applies the granted ones.
        handoff::decide_ownership(&mut tx, &inserted).await?;
        outcome.leads = refold(&mut tx, &inserted, derive, decode).await?;
    }
    store_checkpoints(&mut tx, projection, topic, committed, next_offsets).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Inserts the timeline rows; returns the records not seen before.
async fn insert_events<'r>(
    tx: &mut Transaction<'_, Postgres>,
    records: &'r [Record],
) -> Result<Vec<&'r Record>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    // Column arrays bound in binary (UNNEST): far cheaper for the server than parsing JSON rows.
    let n = records.len();
    let mut ids = Vec::with_capacity(n);
    let mut tenants = Vec::with_capacity(n);
    let mut leads = Vec::with_capacity(n);
    let mut types = Vec::with_capacity(n);
    let mut versions = Vec::with_capacity(n);
    let mut occurred = Vec::with_capacity(n);
    let mut recorded = Vec::with_capacity(n);
    let mut systems = Vec::with_capacity(n);
    let mut source_ids = Vec::with_capacity(n);
    let mut partitions = Vec::with_capacity(n);
    let mut offsets = Vec::with_capacity(n);
    let mut known = Vec::with_capacity(n);
    let mut bodies = Vec::with_capacity(n);
    let mut raws = Vec::with_capacity(n);
    for r in records {
        let e = &r.event;
        ids.push(e.event_id);
        tenants.push(e.tenant_id.as_str());
        leads.push(e.lead_id.as_str());
        types.push(e.payload.event_type());
        versions.push(i32::try_from(e.schema_version).unwrap_or(i32::MAX));
        occurred.push(e.occurred_at);
        recorded.push(e.recorded_at);
        systems.push(e.source.system.as_str());
        source_ids.push(e.source.event_id.as_str());
        partitions.push(r.partition);
        offsets.push(r.offset);
        known.push(
            !matches!(e.payload, leadledger_domain::Payload::Unknown { .. })
                && e.schema_version <= leadledger_domain::SCHEMA_VERSION,
        );
        bodies.push(&r.body);
        raws.push(r.raw.as_slice());
    }
    let inserted: Vec<uuid::Uuid> = sqlx::query_scalar(
        "INSERT INTO lead_events (event_id, tenant_id, lead_id, event_type, schema_version, \
           occurred_at, recorded_at, source_system, source_event_id, log_partition, log_offset, \
           known, body, raw) \
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int4[], \
           $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::int4[], \
           $11::int8[], $12::bool[], $13::jsonb[], $14::bytea[]) \
         ON CONFLICT (event_id) DO NOTHING \
         RETURNING event_id",
    )
    .bind(&ids)
    .bind(&tenants)
    .bind(&leads)
    .bind(&types)
    .bind(&versions)
    .bind(&occurred)
    .bind(&recorded)
    .bind(&systems)
    .bind(&source_ids)
    .bind(&partitions)
    .bind(&offsets)
    .bind(&known)
    .bind(&bodies)
    .bind(&raws)
    .fetch_all(&mut **tx)
    .await?;
    let inserted: std::collections::HashSet<uuid::Uuid> = inserted.into_iter().collect();
    let mut seen = std::collections::HashSet::new();
    Ok(records
        .iter()
        .filter(|r| inserted.contains(&r.event.event_id) && seen.insert(r.event.event_id))
        .collect())
}

/// Re-folds the given leads from their whole timelines and replaces their derived rows.
/// Returns how many leads were re-folded.
async fn refold(
    tx: &mut Transaction<'_, Postgres>,
    new: &[&Record],
    derive: &Derivations,
    decode: DecodeStored,
) -> Result<usize, StoreError> {
    let leads: BTreeSet<(&str, &str)> = new
        .iter()
        .map(|r| (r.event.tenant_id.as_str(), r.event.lead_id.as_str()))
        .collect();
    let (tenants, ids): (Vec<&str>, Vec<&str>) = leads.iter().copied().unzip();
    let new_ids: std::collections::HashSet<uuid::Uuid> =
        new.iter().map(|r| r.event.event_id).collect();
    // Queue the leads for the credits worker (crate::credits) in this same transaction: the
    // credits it computes can never miss a fact the checkpoint below covers.
    sqlx::query(
        "INSERT INTO attribution_dirty (tenant_id, lead_id) \
         SELECT * FROM UNNEST($1::text[], $2::text[])",
    )
    .bind(&tenants)
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    // Only the older part of each timeline comes from the database: this batch's events are
    // already in memory. Read as the log's bytes and decoded like the log (see
    // `DecodeStored`): the server sends them as stored, where `body` had to be rendered as
    // JSON text and parsed again. The batch's own rows are dropped here, not in SQL: as
    // `NOT (event_id = ANY($3))` the server compared every row with every id of the batch
    // (a prepared statement's generic plan cannot hash the array): three times the cost of
    // the read itself (measured on a table of 100k events, 1 500 leads and 1 800 ids:
    // 80–137 ms with the filter, 27–39 ms without).
    let rows: Vec<(uuid::Uuid, String, Vec<u8>)> = sqlx::query_as(
        "SELECT e.event_id, e.event_type, e.raw FROM lead_events e \
         JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id) \
           ON e.tenant_id = d.tenant_id AND e.lead_id = d.lead_id",
    )
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;

    // Per lead: the events already stored (what its current rows were folded from) and all.
    let mut older: HashMap<(String, String), Vec<Event>> = HashMap::new();
    for (_, event_type, raw) in rows.iter().filter(|(id, ..)| !new_ids.contains(id)) {
        let event = decode(raw, event_type)
            .map_err(|e| StoreError::Corrupt(format!("lead_events.raw ({event_type}): {e}")))?;
        older
            .entry((event.tenant_id.clone(), event.lead_id.clone()))
            .or_default()
            .push(event);
    }
    // Decisions are read only for batches whose leads have ever asked for an owner.
    let asked = older
        .values()
        .flatten()
        .chain(new.iter().map(|r| &r.event))
        .any(|e| matches!(e.payload, Payload::OwnershipRequested(_)));
    let granted = if asked {
        handoff::granted(tx, &tenants, &ids).await?
    } else {
        Default::default()
    };
    // A lead's stored row is the fold of its stored events, so its old funnel cell (and its
    // old stages) come from folding `older`, without reading `leads` back. Folded before the
    // stored events move into the timelines, so none is copied.
    let mut old_cells = Vec::with_capacity(older.len());
    let mut new_cells = Vec::with_capacity(ids.len());
    let before: HashMap<(String, String), LeadState> = older
        .iter()
        .map(|(key, events)| (key.clone(), fold_with(events, &granted)))
        .collect();
    let mut timelines: HashMap<(String, String), Vec<Event>> = older;
    for r in new {
        let key = (r.event.tenant_id.clone(), r.event.lead_id.clone());
        timelines.entry(key).or_default().push(r.event.clone());
    }

    let mut lead_rows = LeadRows::with_capacity(timelines.len());
    let mut visits = StageRows::default();
    let mut transitions = StageRows::default();
    let mut clocks = ClockRows::default();
    let (mut stale_tenants, mut stale_leads) = (Vec::new(), Vec::new());
    for (key, events) in &timelines {
        let (tenant, lead) = key;
        let st = fold_with(events, &granted);
        let feedback = lead_feedback(events, &derive.policies(tenant).feedback);
        lead_rows.push(tenant, lead, &st, &feedback);
        new_cells.push(LeadCell::of_state(tenant, &st));
        clocks.push_lead(derive, tenant, lead, events, &st);
        // Stage rows are rewritten only when the stages changed: most facts (touches,
        // follow-ups, feedback, hand-offs) do not move a lead.
        if let Some(old) = before.get(key) {
            old_cells.push(LeadCell::of_state(tenant, old));
            if old.visits == st.visits && old.transitions == st.transitions {
                continue;
            }
            stale_tenants.push(tenant.as_str());
            stale_leads.push(lead.as_str());
        }
        for (seq, v) in st.visits.iter().enumerate() {
            visits.push(
                tenant,
                lead,
                seq,
                v.stage.as_str(),
                v.entered_at,
                v.exited_at,
            );
        }
        for (seq, t) in st.transitions.iter().enumerate() {
            transitions.push(tenant, lead, seq, t.to.as_str(), t.at, None);
            transitions.from.push(t.from.map(|s| s.as_str()));
            transitions.event_id.push(t.event_id);
            transitions.kind.push(t.kind.as_str());
            let skipped: Vec<&str> = t.skipped.iter().map(|s| s.as_str()).collect();
            transitions.skipped.push(skipped.join(","));
        }
    }

    lead_rows.upsert(tx).await?;
    clocks.write(tx).await?;
    funnel_cells::apply(tx, &old_cells, &new_cells).await?;
    for table in ["stage_visits", "stage_transitions"] {
        if stale_leads.is_empty() {
            break;
        }
        sqlx::query(&format!(
            "DELETE FROM {table} t USING UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id) \
             WHERE t.tenant_id = d.tenant_id AND t.lead_id = d.lead_id"
        ))
        .bind(&stale_tenants)
        .bind(&stale_leads)
        .execute(&mut **tx)
        .await?;
    }
    if !visits.seq.is_empty() {
        sqlx::query(
            "INSERT INTO stage_visits (tenant_id, lead_id, seq, stage, entered_at, exited_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::text[], \
               $5::timestamptz[], $6::timestamptz[])",
        )
        .bind(&visits.tenant)
        .bind(&visits.lead)
        .bind(&visits.seq)
        .bind(&visits.stage)
        .bind(&visits.at)
        .bind(&visits.exited)
        .execute(&mut **tx)
        .await?;
    }
    if !transitions.seq.is_empty() {
        // `skipped` travels as a comma-joined string: PostgreSQL arrays of arrays must be
        // rectangular.
        sqlx::query(
            "INSERT INTO stage_transitions \
               (tenant_id, lead_id, seq, from_stage, to_stage, at, event_id, kind, skipped) \
             SELECT t, l, n, f, s, a, e, k, \
                    CASE WHEN sk = '' THEN '{}'::text[] ELSE string_to_array(sk, ',') END \
             FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[], \
               $6::timestamptz[], $7::uuid[], $8::text[], $9::text[]) \
               AS r(t, l, n, f, s, a, e, k, sk)",
        )
        .bind(&transitions.tenant)
        .bind(&transitions.lead)
        .bind(&transitions.seq)
        .bind(&transitions.from)
        .bind(&transitions.stage)
        .bind(&transitions.at)
        .bind(&transitions.event_id)
        .bind(&transitions.kind)
        .bind(&transitions.skipped)
        .execute(&mut **tx)
        .await?;
    }
    Ok(timelines.len())
}

/// Column arrays of `stage_visits` / `stage_transitions` rows, bound with UNNEST.
#[derive(Default)]
struct StageRows<'a> {
    tenant: Vec<&'a str>,
    lead: Vec<&'a str>,
    seq: Vec<i32>,
    stage: Vec<&'a str>,
    at: Vec<DateTime<Utc>>,
    exited: Vec<Option<DateTime<Utc>>>,
    from: Vec<Option<&'a str>>,
    event_id: Vec<uuid::Uuid>,
    kind: Vec<&'a str>,
    skipped: Vec<String>,
}

impl<'a> StageRows<'a> {
    fn push(
        &mut self,
        tenant: &'a str,
        lead: &'a str,
        seq: usize,
        stage: &'a str,
        at: DateTime<Utc>,
        exited: Option<DateTime<Utc>>,
    ) {
        self.tenant.push(tenant);
        self.lead.push(lead);
        self.seq.push(i32::try_from(seq).unwrap_or(i32::MAX));
        self.stage.push(stage);
        self.at.push(at);
        self.exited.push(exited);
    }
}

/// Fails with [`StoreError::CheckpointBehind`] if a `stored` checkpoint (as this transaction
/// found it) is behind `committed`. A concurrent projector can only move a checkpoint
/// forward (`GREATEST`), so a stored value behind one this caller saw committed can only come
/// from a loss. The caller drops the transaction: nothing of the batch commits.
fn check_not_behind(
    topic: &str,
    stored: &BTreeMap<i32, i64>,
    committed: &BTreeMap<i32, i64>,
) -> Result<(), StoreError> {
    for (p, c) in committed {
        let s = stored.get(p).copied().unwrap_or(0);
        if s < *c {
            return Err(StoreError::CheckpointBehind {
                topic: topic.to_string(),
                partition: *p,
                stored: s,
                committed: *c,
            });
        }
    }
    Ok(())
}

/// Moves the checkpoints to `next_offsets`, after checking (in the same statement, one round
/// trip) that none of the stored ones is behind `committed` ([`check_not_behind`]).
async fn store_checkpoints(
    tx: &mut Transaction<'_, Postgres>,
    projection: &str,
    topic: &str,
    committed: &BTreeMap<i32, i64>,
    next_offsets: &BTreeMap<i32, i64>,
) -> Result<(), StoreError> {
    if next_offsets.is_empty() {
        if committed.values().any(|o| *o > 0) {
            let stored = crate::checkpoints::load(&mut **tx, projection, topic).await?;
            check_not_behind(topic, &stored, committed)?;
        }
        return Ok(());
    }
    let (parts, offs): (Vec<i32>, Vec<i64>) = next_offsets.iter().map(|(p, o)| (*p, *o)).unzip();
    // `prev` reads the checkpoints as they were before the upsert of the same statement.
    // GREATEST: a zombie projector that lost its partition can never move a checkpoint back.
    // The notification rides on the same statement (one round trip less per batch): it is
    // delivered at commit, so queries waiting on a consistency token wake up at once. The
    // one-row `n` in FROM makes it run exactly once, even when `prev` is empty (the
    // partitions' first batch), which then yields one row of NULLs.
    let prev: Vec<(Option<i32>, Option<i64>)> = sqlx::query_as(
        "WITH prev AS ( \
           SELECT partition, next_offset FROM projector_checkpoints \
           WHERE projection = $1 AND topic = $2 \
         ), up AS ( \
           INSERT INTO projector_checkpoints (projection, topic, partition, next_offset) \
           SELECT $1, $2, p, o FROM UNNEST($3::int4[], $4::int8[]) AS c(p, o) \
           ON CONFLICT (projection, topic, partition) \
           DO UPDATE SET next_offset = \
             GREATEST(projector_checkpoints.next_offset, EXCLUDED.next_offset) \
           RETURNING 1 \
         ) \
         SELECT prev.partition, prev.next_offset \
         FROM (SELECT pg_notify($5, $2)) AS n LEFT JOIN prev ON true",
    )
    .bind(projection)
    .bind(topic)
    .bind(&parts)
    .bind(&offs)
    .bind(crate::checkpoints::NOTIFY_CHANNEL)
    .fetch_all(&mut **tx)
    .await?;
    let prev = prev
        .into_iter()
        .filter_map(|(p, o)| Some((p?, o?)))
        .collect();
    check_not_behind(topic, &prev, committed)?;
    Ok(())
}
