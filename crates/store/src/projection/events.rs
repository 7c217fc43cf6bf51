//! `lead_events`: the timeline rows, the applied-event set.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use leadledger_domain::{Payload, SCHEMA_VERSION};
use leadledger_projection::Logged;
use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::columns::column_arrays;
use crate::StoreError;

const INSERT: &str = include_str!("sql/insert_events.sql");

/// One decoded record of the events topic.
#[derive(Debug, Clone)]
pub struct Record {
    /// The event and where it was read.
    pub logged: Logged,
    /// The event as JSON, stored in `lead_events.body` for SQL readers (made once, by the
    /// decoder).
    pub body: Value,
    /// The value exactly as read from the log (`lead_events.raw`, what every reader decodes).
    pub raw: Vec<u8>,
}

column_arrays! {
    /// `lead_events` rows.
    struct EventRows<'a> {
        id: Uuid,
        tenant: &'a str,
        lead: &'a str,
        event_type: &'a str,
        version: i32,
        occurred: DateTime<Utc>,
        recorded: DateTime<Utc>,
        system: &'a str,
        source_id: &'a str,
        partition: i32,
        offset: i64,
        known: bool,
        body: &'a Value,
        raw: &'a [u8],
    }
}

/// Inserts the timeline rows; returns the records not seen before.
pub(super) async fn insert<'r>(
    tx: &mut Transaction<'static, Postgres>,
    records: &'r [Record],
) -> Result<Vec<&'r Record>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = EventRows::default();
    for r in records {
        let e = &r.logged.event;
        rows.push(
            e.event_id,
            &e.tenant_id,
            &e.lead_id,
            e.payload.event_type(),
            i32::try_from(e.schema_version).unwrap_or(i32::MAX),
            e.occurred_at,
            e.recorded_at,
            &e.source.system,
            &e.source.event_id,
            r.logged.partition,
            r.logged.offset,
            !matches!(e.payload, Payload::Unknown { .. }) && e.schema_version <= SCHEMA_VERSION,
            &r.body,
            &r.raw,
        );
    }
    // Ids are unique per tenant: a record is new when its (id, tenant) was inserted, and
    // only its first copy in the batch counts.
    let inserted: Vec<(Uuid, String)> = rows
        .bind(sqlx::query_as(INSERT))
        .fetch_all(&mut **tx)
        .await?;
    let inserted: HashSet<(Uuid, &str)> = inserted
        .iter()
        .map(|(id, tenant)| (*id, tenant.as_str()))
        .collect();
    let mut seen = HashSet::new();
    Ok(records
        .iter()
        .filter(|r| {
            let key = (r.logged.event.event_id, r.logged.event.tenant_id.as_str());
            inserted.contains(&key) && seen.insert(key)
        })
        .collect())
}
