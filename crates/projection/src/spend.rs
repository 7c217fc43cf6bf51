//! The batch's spend statements as `marketing_spend` rows: per tenant, channel, campaign and
//! period, the statement recorded last (ties: the larger event id). The store keeps a stored
//! row unless the batch's is later by the same order, so any batching of the log, and every
//! replay, leaves the same rows.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use leadledger_domain::spend::Spend;
use leadledger_domain::{Event, Payload};
use uuid::Uuid;

/// One statement as `marketing_spend` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendRow {
    pub tenant: String,
    pub spend: Spend,
    pub event_id: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// A statement's row key: tenant, channel, campaign, period.
type Key = (String, String, String, NaiveDate, NaiveDate);

/// The statement of `e`, if it is one.
pub fn statement(e: &Event) -> Option<&Spend> {
    match &e.payload {
        Payload::SpendRecorded(s) => Some(s),
        _ => None,
    }
}

/// The latest statement of each key among `events`, in key order.
pub fn latest<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<SpendRow> {
    let mut rows: BTreeMap<Key, SpendRow> = BTreeMap::new();
    for e in events {
        let Some(s) = statement(e) else { continue };
        let key = (
            e.tenant_id.clone(),
            s.channel.clone(),
            s.campaign.clone(),
            s.period_start,
            s.period_end,
        );
        let row = SpendRow {
            tenant: e.tenant_id.clone(),
            spend: s.clone(),
            event_id: e.event_id,
            recorded_at: e.recorded_at,
        };
        match rows.get(&key) {
            Some(kept) if (kept.recorded_at, kept.event_id) >= (row.recorded_at, row.event_id) => {}
            _ => {
                rows.insert(key, row);
            }
        }
    }
    rows.into_values().collect()
}
