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
use leadledger_domain::event::PocOutcome;
use leadledger_domain::{fold, Event, LeadState};
use serde_json::{json, Value};
use sqlx::{Postgres, Transaction};

use crate::StoreError;

/// One decoded record of the events topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub event: Event,
    /// The value exactly as read from the log.
    pub raw: Vec<u8>,
}

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
pub async fn apply_batch(
    pool: &sqlx::PgPool,
    projection: &str,
    topic: &str,
    records: &[Record],
    next_offsets: &BTreeMap<i32, i64>,
) -> Result<BatchOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    let mut outcome = BatchOutcome::default();

    let inserted = insert_events(&mut tx, records).await?;
    outcome.applied = inserted.len();
    outcome.duplicates = records.len() - inserted.len();

    let dirty: BTreeSet<(String, String)> = inserted.into_iter().collect();
    outcome.leads = dirty.len();
    if !dirty.is_empty() {
        refold(&mut tx, &dirty).await?;
    }
    store_checkpoints(&mut tx, projection, topic, next_offsets).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Inserts the timeline rows; returns (tenant, lead) of each event not seen before.
async fn insert_events(
    tx: &mut Transaction<'_, Postgres>,
    records: &[Record],
) -> Result<Vec<(String, String)>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Value> = records
        .iter()
        .map(|r| {
            let e = &r.event;
            let known = !matches!(e.payload, leadledger_domain::Payload::Unknown { .. })
                && e.schema_version <= leadledger_domain::SCHEMA_VERSION;
            Ok(json!({
                "event_id": e.event_id,
                "tenant_id": e.tenant_id,
                "lead_id": e.lead_id,
                "event_type": e.payload.event_type(),
                "schema_version": e.schema_version,
                "occurred_at": e.occurred_at,
                "recorded_at": e.recorded_at,
                "source_system": e.source.system,
                "source_event_id": e.source.event_id,
                "log_partition": r.partition,
                "log_offset": r.offset,
                "known": known,
                "body": serde_json::to_value(e).map_err(|x| StoreError::Corrupt(x.to_string()))?,
                "raw": format!("\\x{}", hex(&r.raw)),
            }))
        })
        .collect::<Result<_, StoreError>>()?;
    let inserted: Vec<(String, String)> = sqlx::query_as(
        "INSERT INTO lead_events \
         SELECT * FROM jsonb_populate_recordset(NULL::lead_events, $1) \
         ON CONFLICT (event_id) DO NOTHING \
         RETURNING tenant_id, lead_id",
    )
    .bind(Value::Array(rows))
    .fetch_all(&mut **tx)
    .await?;
    Ok(inserted)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Re-folds the given leads from their whole timelines and replaces their derived rows.
async fn refold(
    tx: &mut Transaction<'_, Postgres>,
    leads: &BTreeSet<(String, String)>,
) -> Result<(), StoreError> {
    let (tenants, ids): (Vec<&str>, Vec<&str>) =
        leads.iter().map(|(t, l)| (t.as_str(), l.as_str())).unzip();
    let rows: Vec<(String, String, Value)> = sqlx::query_as(
        "SELECT e.tenant_id, e.lead_id, e.body FROM lead_events e \
         JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id) \
           ON e.tenant_id = d.tenant_id AND e.lead_id = d.lead_id",
    )
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;

    let mut timelines: HashMap<(String, String), Vec<Event>> = HashMap::new();
    for (tenant, lead, body) in rows {
        let event: Event = serde_json::from_value(body).map_err(|e| {
            StoreError::Corrupt(format!("lead_events.body of {tenant}/{lead}: {e}"))
        })?;
        timelines.entry((tenant, lead)).or_default().push(event);
    }

    let mut lead_rows = Vec::with_capacity(timelines.len());
    let mut visit_rows = Vec::new();
    let mut transition_rows = Vec::new();
    for ((tenant, lead), events) in &timelines {
        let st = fold(events);
        lead_rows.push(lead_row(tenant, lead, &st));
        for (seq, v) in st.visits.iter().enumerate() {
            visit_rows.push(json!({
                "tenant_id": tenant, "lead_id": lead, "seq": seq,
                "stage": v.stage.as_str(), "entered_at": v.entered_at, "exited_at": v.exited_at,
            }));
        }
        for (seq, t) in st.transitions.iter().enumerate() {
            transition_rows.push(json!({
                "tenant_id": tenant, "lead_id": lead, "seq": seq,
                "from_stage": t.from.map(|s| s.as_str()), "to_stage": t.to.as_str(),
                "at": t.at, "event_id": t.event_id, "kind": t.kind.as_str(),
                "skipped": t.skipped.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            }));
        }
    }

    sqlx::query(&upsert_leads_sql())
        .bind(Value::Array(lead_rows))
        .execute(&mut **tx)
        .await?;
    for table in ["stage_visits", "stage_transitions"] {
        sqlx::query(&format!(
            "DELETE FROM {table} t USING UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id) \
             WHERE t.tenant_id = d.tenant_id AND t.lead_id = d.lead_id"
        ))
        .bind(&tenants)
        .bind(&ids)
        .execute(&mut **tx)
        .await?;
    }
    for (table, rows) in [
        ("stage_visits", visit_rows),
        ("stage_transitions", transition_rows),
    ] {
        if !rows.is_empty() {
            sqlx::query(&format!(
                "INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, $1)"
            ))
            .bind(Value::Array(rows))
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Columns of `leads` that the fold writes (all of them but the key).
const LEAD_COLUMNS: &[&str] = &[
    "stage",
    "owner_team",
    "owner_queue",
    "owner_rep_id",
    "owner_partner_id",
    "email",
    "phone",
    "contact_name",
    "contact_title",
    "company_name",
    "company_domain",
    "region",
    "industry",
    "segment",
    "employees",
    "channel",
    "campaign",
    "medium",
    "keyword",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "landing_page",
    "referrer",
    "offline_activity_id",
    "captured_at",
    "mql_at",
    "sql_at",
    "poc_at",
    "signed_at",
    "max_rank",
    "signed_amount_minor",
    "signed_currency",
    "poc_outcome",
    "event_count",
    "unknown_event_count",
    "touch_count",
    "follow_up_count",
    "first_follow_up_at",
    "last_event_at",
];

fn upsert_leads_sql() -> String {
    let set: Vec<String> = LEAD_COLUMNS
        .iter()
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    format!(
        "INSERT INTO leads SELECT * FROM jsonb_populate_recordset(NULL::leads, $1) \
         ON CONFLICT (tenant_id, lead_id) DO UPDATE SET {}",
        set.join(", ")
    )
}

fn lead_row(tenant: &str, lead: &str, st: &LeadState) -> Value {
    use leadledger_domain::Stage;
    let at = |s: Stage| -> Option<DateTime<Utc>> { st.entered(s) };
    json!({
        "tenant_id": tenant,
        "lead_id": lead,
        "stage": st.stage.map(|s| s.as_str()),
        "owner_team": st.owner.team,
        "owner_queue": st.owner.queue,
        "owner_rep_id": st.owner.rep_id,
        "owner_partner_id": st.owner.partner_id,
        "email": st.contact.email,
        "phone": st.contact.phone,
        "contact_name": st.contact.name,
        "contact_title": st.contact.title,
        "company_name": st.company.name,
        "company_domain": st.company.domain.to_lowercase(),
        "region": st.company.region,
        "industry": st.company.industry,
        "segment": st.company.segment.as_str(),
        "employees": st.company.employees,
        "channel": st.source.channel,
        "campaign": st.source.campaign,
        "medium": st.source.medium,
        "keyword": st.source.keyword,
        "utm_source": st.source.utm_source,
        "utm_medium": st.source.utm_medium,
        "utm_campaign": st.source.utm_campaign,
        "utm_term": st.source.utm_term,
        "utm_content": st.source.utm_content,
        "landing_page": st.source.landing_page,
        "referrer": st.source.referrer,
        "offline_activity_id": st.source.offline_activity_id,
        "captured_at": st.captured_at,
        "mql_at": at(Stage::Mql),
        "sql_at": at(Stage::Sql),
        "poc_at": at(Stage::Poc),
        "signed_at": at(Stage::Signed),
        "max_rank": st.max_rank,
        "signed_amount_minor": st.signed_amount_minor,
        "signed_currency": st.signed_currency,
        "poc_outcome": match st.poc_outcome {
            None => "",
            Some(PocOutcome::Success) => "success",
            Some(PocOutcome::Failure) => "failure",
            Some(PocOutcome::Abandoned) => "abandoned",
        },
        "event_count": st.event_count,
        "unknown_event_count": st.unknown_count,
        "touch_count": st.touch_count,
        "follow_up_count": st.follow_up_count,
        "first_follow_up_at": st.first_follow_up_at,
        "last_event_at": st.last_event_at,
    })
}

async fn store_checkpoints(
    tx: &mut Transaction<'_, Postgres>,
    projection: &str,
    topic: &str,
    next_offsets: &BTreeMap<i32, i64>,
) -> Result<(), StoreError> {
    if next_offsets.is_empty() {
        return Ok(());
    }
    let (parts, offs): (Vec<i32>, Vec<i64>) = next_offsets.iter().map(|(p, o)| (*p, *o)).unzip();
    // GREATEST: a zombie projector that lost its partition can never move a checkpoint back.
    sqlx::query(
        "INSERT INTO projector_checkpoints (projection, topic, partition, next_offset) \
         SELECT $1, $2, p, o FROM UNNEST($3::int4[], $4::int8[]) AS c(p, o) \
         ON CONFLICT (projection, topic, partition) \
         DO UPDATE SET next_offset = GREATEST(projector_checkpoints.next_offset, EXCLUDED.next_offset)",
    )
    .bind(projection)
    .bind(topic)
    .bind(&parts)
    .bind(&offs)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
