//! `ListLeads` at a cut: the leads folded from the events it admits, filtered and paged as
//! [`crate::leads::list_leads`] filters and pages the rows.

use chrono::{DateTime, Utc};
use leadledger_domain::{Cut, Event, LeadState, Stage, TransitionKind};
use leadledger_projection::{Derivations, LeadFeedback};
use sqlx::PgPool;
use std::collections::HashMap;

use super::{for_each_lead, Captured};
use crate::leads::{Cursor, ExitFilter, LeadFilter, LeadRow};
use crate::projection::row_of;
use crate::StoreError;

const CONTACTS: &str = include_str!("sql/contacts.sql");

/// The sort key of `ListLeads`: newest capture first, leads with no capture last.
fn key(r: &LeadRow) -> (DateTime<Utc>, &str) {
    (r.captured_at.unwrap_or(DateTime::UNIX_EPOCH), &r.lead_id)
}

/// Leads matching `filter` under `cut`, in `ListLeads` order, at most `limit`, after
/// `cursor`; feedback derived with `derive`.
pub async fn list_leads(
    pool: &PgPool,
    tenant: &str,
    filter: &LeadFilter,
    cursor: Option<&Cursor>,
    limit: i64,
    cut: &Cut,
    derive: &Derivations,
) -> Result<Vec<LeadRow>, StoreError> {
    let mut rows = Vec::new();
    // No filter reads the feedback columns: the feedback (a pass over the timeline) is
    // derived for the leads listed only, whose row is made again with it.
    let unread = LeadFeedback {
        lead_id: String::new(),
        rep_id: None,
        required: 0,
        filled: 0,
        missing: Vec::new(),
    };
    let add = |lead: &str, st: LeadState, events: &[Event]| {
        let mut row = row_of(tenant, lead, &st, &unread);
        let after = cursor.is_none_or(|c| key(&row) < (c.captured_at, c.lead_id.as_str()));
        if after && admits(filter, &row, &st) {
            row = row_of(tenant, lead, &st, &derive.feedback(tenant, events));
            rows.push(row);
        }
    };
    let captured = Captured::window(filter.captured_from, filter.captured_to, cut);
    for_each_lead(pool, tenant, cut, captured, add).await?;
    rows.sort_by(|a, b| key(b).cmp(&key(a)));
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    with_contacts_of_today(pool, tenant, &mut rows).await?;
    Ok(rows)
}

/// Puts in each row the contact the ledger holds today: the folds at a cut read the log's
/// sealed contacts without their keys, and a contact erased since must not come back at an
/// earlier cut (docs/PRIVACY.md).
async fn with_contacts_of_today(
    pool: &PgPool,
    tenant: &str,
    rows: &mut [LeadRow],
) -> Result<(), StoreError> {
    type Contact = (
        String,
        String,
        String,
        String,
        String,
        Option<DateTime<Utc>>,
    );
    let ids: Vec<&str> = rows.iter().map(|r| r.lead_id.as_str()).collect();
    let today: HashMap<String, Contact> = sqlx::query_as::<_, Contact>(CONTACTS)
        .bind(tenant)
        .bind(&ids)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|c| (c.0.clone(), c))
        .collect();
    for r in rows {
        let (_, email, phone, name, title, erased) =
            today.get(&r.lead_id).cloned().unwrap_or_default();
        r.email = email;
        r.phone = phone;
        r.contact_name = name;
        r.contact_title = title;
        r.contact_erased_at = erased;
    }
    Ok(())
}

/// An equality filter: empty `want` is any.
fn same(want: &str, got: &str) -> bool {
    want.is_empty() || want == got
}

/// Whether a folded lead (`row` is its row) passes `filter`, clause by clause as the SQL
/// of `list_leads`.
fn admits(filter: &LeadFilter, row: &LeadRow, st: &LeadState) -> bool {
    let stage_ok = filter.stages.is_empty()
        || row
            .stage
            .as_ref()
            .is_some_and(|s| filter.stages.contains(s));
    let fields_ok = same(&filter.channel, &row.channel)
        && same(&filter.campaign, &row.campaign)
        && same(&filter.region, &row.region)
        && same(&filter.industry, &row.industry)
        && same(&filter.segment, &row.segment)
        && same(&filter.owner_rep_id, &row.owner_rep_id)
        && same(&filter.owner_team, &row.owner_team);
    let captured_ok = filter
        .captured_from
        .is_none_or(|f| row.captured_at.is_some_and(|c| c >= f))
        && filter
            .captured_to
            .is_none_or(|t| row.captured_at.is_some_and(|c| c < t));
    let reached_ok = filter.reached_rank.is_none_or(|r| row.max_rank >= r)
        && (filter.signed_currency.is_empty()
            || (row.max_rank >= 5 && row.signed_currency == filter.signed_currency));
    let exits_ok = filter.exited.as_ref().is_none_or(|x| exited(x, st));
    stage_ok && fields_ok && captured_ok && reached_ok && stays_ok(filter, row, st) && exits_ok
}

/// Whether the lead has an exit matching every field of `x` set.
fn exited(x: &ExitFilter, st: &LeadState) -> bool {
    st.transitions.iter().any(|t| {
        let Some(e) = t.exit.as_ref().filter(|_| t.kind == TransitionKind::Exit) else {
            return false;
        };
        let reached_rank = e.reached.and_then(Stage::rank).map(i32::from);
        x.kind.is_none_or(|k| k == t.to)
            && same(&x.code, &e.code)
            && same(&x.rep_id, &e.rep_id)
            && same(&x.team, &e.team)
            && x.from.is_none_or(|f| t.at >= f)
            && x.to.is_none_or(|u| t.at < u)
            && x.reached.is_none_or(|r| e.reached == Some(r))
            && x.reached_rank_at_least
                .is_none_or(|r| reached_rank.is_some_and(|h| h >= r))
    })
}

/// The clauses over the lead's stays.
fn stays_ok(filter: &LeadFilter, row: &LeadRow, st: &LeadState) -> bool {
    let rank = |s: Stage| s.rank().map(i32::from);
    if let Some(stage) = filter.entered {
        let Some(first) = st
            .visits
            .iter()
            .filter(|v| v.stage == stage)
            .map(|v| v.entered_at)
            .min()
        else {
            return false;
        };
        if let Some(w) = filter.advanced_within {
            let r = i32::from(stage.rank().unwrap_or(u8::MAX));
            let advanced = st.visits.iter().any(|v| {
                rank(v.stage).is_some_and(|x| x > r)
                    && v.entered_at >= first
                    && v.entered_at - first <= w
            });
            if !advanced {
                return false;
            }
        }
    }
    if let (Some(r), Some(w)) = (filter.reached_rank, filter.reached_within) {
        let reached = st
            .visits
            .iter()
            .filter(|v| rank(v.stage).is_some_and(|x| x >= i32::from(r)))
            .map(|v| v.entered_at)
            .min();
        match (reached, row.captured_at) {
            (Some(at), Some(captured)) if at - captured <= w => {}
            _ => return false,
        }
    }
    true
}
