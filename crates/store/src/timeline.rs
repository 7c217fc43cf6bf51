//! The one reader of stored timelines.
//!
//! `lead_events.raw` holds each event's record value exactly as it was read from the log, and
//! every reader decodes it with the log's own decoder ([`leadledger_api::record`]): the
//! projection's re-fold, the credits worker and attribution computed on request read the
//! same bytes into the same events the projector applied. (`lead_events.body`, the event as
//! JSON, is kept for SQL readers and BI tools; no code reads it.) Reading the bytes is also
//! the cheap way: the server sends them as stored, where `body` had to be rendered as JSON
//! text and parsed again (docs/BENCHMARKS.md, "Where a projector batch goes").

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use leadledger_api::record::decode_event;
use leadledger_domain::Event;
use leadledger_projection::Logged;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::StoreError;

const OF_LEADS: &str = include_str!("sql/timeline_of_leads.sql");
const OF_TENANT: &str = include_str!("sql/timeline_of_tenant.sql");

/// Every stored event of the leads `(tenants[i], leads[i])` but those in `skip`, with the
/// log position of its first copy.
///
/// `skip` (a batch's own events, already in memory) is applied here and not in SQL: as
/// `NOT (event_id = ANY($3))` the server compared every row with every id of the batch (a
/// prepared statement's generic plan cannot hash the array), three times the cost of the
/// read itself (measured on a table of 100k events, 1 500 leads and 1 800 ids: 80–137 ms
/// with the filter, 27–39 ms without).
pub async fn of_leads<'e>(
    db: impl PgExecutor<'e>,
    tenants: &[&str],
    leads: &[&str],
    skip: &HashSet<Uuid>,
) -> Result<Vec<Logged>, StoreError> {
    let rows: Vec<(Uuid, String, i32, i64, Vec<u8>)> = sqlx::query_as(OF_LEADS)
        .bind(tenants)
        .bind(leads)
        .fetch_all(db)
        .await?;
    rows.into_iter()
        .filter(|(id, ..)| !skip.contains(id))
        .map(|(_, event_type, partition, offset, raw)| {
            Ok(Logged {
                partition,
                offset,
                event: decode(&raw, &event_type)?,
            })
        })
        .collect()
}

/// Every stored event of the merged groups of the leads `(tenants[i], leads[i])` (each lead,
/// its survivor, the leads merged into that and their linked visitors; the links themselves
/// left out), filed under the group's survivor: each
/// event's `lead_id` is its survivor's, so a fold by lead id folds the group as one lead.
/// Contacts stay sealed.
pub async fn of_groups(
    conn: &mut sqlx::PgConnection,
    tenants: &[&str],
    leads: &[&str],
) -> Result<Vec<Logged>, StoreError> {
    let survivor = crate::identity::groups(&mut *conn, tenants, leads).await?;
    let mut all: std::collections::BTreeSet<(&str, &str)> =
        tenants.iter().copied().zip(leads.iter().copied()).collect();
    for ((t, l), s) in &survivor {
        all.insert((t, l));
        all.insert((t, s));
    }
    let (tenants, leads): (Vec<&str>, Vec<&str>) = all.into_iter().unzip();
    let mut events = of_leads(&mut *conn, &tenants, &leads, &HashSet::new()).await?;
    // A visitor's link is no lead's fact (the projection folds none; a link alone makes no
    // lead).
    events.retain(|e| !e.event.payload.is_link());
    for e in &mut events {
        let k = (e.event.tenant_id.clone(), e.event.lead_id.clone());
        if let Some(s) = survivor.get(&k) {
            e.event.lead_id = s.clone();
        }
    }
    Ok(events)
}

/// Every event of the tenant's leads captured in `[from, to)` (every lead, captured or not,
/// when neither bound is given); a merged lead's events are filed under its survivor, a
/// linked visitor's under its lead's (its links left out).
pub async fn of_tenant<'e>(
    db: impl PgExecutor<'e>,
    tenant: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<Event>, StoreError> {
    let rows: Vec<(String, Vec<u8>, String)> = sqlx::query_as(OF_TENANT)
        .bind(tenant)
        .bind(from)
        .bind(to)
        .fetch_all(db)
        .await?;
    rows.into_iter()
        .filter(|(event_type, ..)| event_type != "identity_linked")
        .map(|(event_type, raw, root)| {
            let mut e = decode(&raw, &event_type)?;
            e.lead_id = root;
            Ok(e)
        })
        .collect()
}

/// A stored record value as its event.
pub(crate) fn decode(raw: &[u8], event_type: &str) -> Result<Event, StoreError> {
    decode_event(raw, event_type)
        .map_err(|e| StoreError::Corrupt(format!("lead_events.raw ({event_type}): {e}")))
}
