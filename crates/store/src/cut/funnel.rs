//! `Funnel` at a cut: the same groups as [`crate::leads::funnel`] (and, at account level,
//! [`crate::account_funnel::funnel`]), counted over folded leads.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadledger_analytics::accounts::{self, Member};
use leadledger_domain::account::Scope;
use leadledger_domain::{Cut, LeadState};
use sqlx::PgPool;

use super::{for_each_lead, in_window, Captured};
use crate::leads::{Dimension, FunnelRow};
use crate::StoreError;

/// A group's running totals: reached counts, and per currency won, amount, collected.
#[derive(Default)]
struct Totals {
    reached: [i64; 5],
    signed: BTreeMap<String, [i64; 3]>,
}

/// Funnel counts grouped by `dims`, over the leads captured in `[from, to)` under `cut`.
pub async fn funnel(
    pool: &PgPool,
    tenant: &str,
    dims: &[Dimension],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    cut: &Cut,
) -> Result<Vec<FunnelRow>, StoreError> {
    let mut groups: BTreeMap<Vec<String>, Totals> = BTreeMap::new();
    let add = |_: &str, st: LeadState, _: &[leadledger_domain::Event]| {
        if !in_window(st.captured_at, from, to) {
            return;
        }
        let key = dims.iter().map(|d| d.of_state(&st)).collect();
        let g = groups.entry(key).or_default();
        // As the read models count: every lead at "captured", then reached or beyond.
        g.reached[0] += 1;
        for (rank, n) in (2..=5u8).zip(g.reached.iter_mut().skip(1)) {
            *n += i64::from(st.max_rank >= rank);
        }
        if st.max_rank >= 5 {
            let t = g.signed.entry(st.signed_currency.clone()).or_default();
            t[0] += 1;
            t[1] += st.signed_amount_minor;
            t[2] += st.collected_minor();
        }
    };
    for_each_lead(pool, tenant, cut, Captured::window(from, to, cut), add).await?;
    Ok(groups
        .into_iter()
        .map(|(key, t)| FunnelRow::of_totals(key, t.reached, t.signed))
        .collect())
}

/// The account funnel ([`crate::account_funnel::funnel`]) under `cut`: every lead of the
/// tenant folded from the events the cut admits.
pub async fn account_funnel(
    pool: &PgPool,
    tenant: &str,
    dims: &[Dimension],
    scope: Scope,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    cut: &Cut,
) -> Result<accounts::Funnel, StoreError> {
    let mut members = Vec::new();
    let add = |lead: &str, st: LeadState, _: &[leadledger_domain::Event]| {
        members.push(Member {
            account: st.account(lead).text(),
            lead_id: lead.to_string(),
            captured_at: st.captured_at,
            max_rank: st.max_rank,
            role: st.contact_role,
            primary_contact: st.primary_contact,
            primary_since: st.primary_since,
            key: dims.iter().map(|d| d.of_state(&st)).collect(),
            signed: (st.max_rank >= 5).then(|| {
                (
                    st.signed_currency.clone(),
                    st.signed_amount_minor,
                    st.collected_minor(),
                )
            }),
        });
    };
    // Every lead: an account's opener may lie outside the period.
    for_each_lead(pool, tenant, cut, Captured::default(), add).await?;
    Ok(accounts::funnel(members, scope, from, to))
}
