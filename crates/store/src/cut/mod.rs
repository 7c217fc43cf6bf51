//! Measures at a cut of the log ([`Cut`]: `as_of` business time, `known_at` record time).
//!
//! The read models hold the fold of every event. A question about an earlier instant, or
//! about what the ledger had been told by then, is answered by folding each lead again from
//! the events the cut admits — the stored bytes, decoded like the log, with the fold the
//! projector uses — so the answer is the one a projector would give over a log holding only
//! those events (the e2e test `as_of` compares the two). It reads every admitted event of the
//! leads asked about: the cost grows with the tenant's history, not with the answer
//! (docs/ANALYTICS.md, "As of and as known on"; docs/BENCHMARKS-queries.md).
//!
//! - [`for_each_lead`]: the loader, one folded lead at a time.
//! - [`funnel()`], [`account_funnel`]: `Funnel` at a cut, by lead and by account. `stays` and `exits` call the loader themselves when
//!   their query carries a cut, `reps` for the leaderboard.
//! - [`spend`]: `Roi`'s spend statements and turnover at a cut.
//! - [`list_leads`]: `ListLeads` at a cut (the leads behind a figure asked at one).

mod funnel;
mod leads;
pub mod spend;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use futures::TryStreamExt;
use leadledger_domain::identity::visitor;
use leadledger_domain::{fold_with, Cut, Event, LeadState};
use sqlx::PgPool;
use uuid::Uuid;

use crate::timeline::decode;
use crate::StoreError;

pub use funnel::{account_funnel, funnel};
pub use leads::list_leads;

const TIMELINES: &str = include_str!("sql/timelines.sql");
const GRANTED: &str = include_str!("sql/granted.sql");
const MERGES: &str = include_str!("sql/merges.sql");

/// Which leads to read, by their capture now (a superset of those captured under the cut).
#[derive(Debug, Clone, Copy, Default)]
pub struct Captured {
    /// Only leads that have a capture.
    pub only: bool,
    /// Only leads captured before this.
    pub before: Option<DateTime<Utc>>,
}

impl Captured {
    /// The leads a capture window `[from, to)` may hold under `cut`: with a bound, only
    /// captured leads, and none captured after `to` or (now already) after `cut.as_of`.
    pub fn window(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>, cut: &Cut) -> Self {
        let only = from.is_some() || to.is_some();
        let after_as_of = cut
            .as_of
            .filter(|_| only)
            .and_then(|t| t.checked_add_signed(TimeDelta::microseconds(1)));
        Captured {
            only,
            before: match (to, after_as_of) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

/// Whether a capture time falls in `[from, to)` (a lead never captured falls in a window
/// only when it has no bound, as in the read models' queries).
pub use leadledger_analytics::accounts::in_window;

/// Calls `each` with every lead of `tenant` that `captured` selects and has at least one
/// event the cut admits, in lead id order (the survivors of merges live under the cut last):
/// its id, its state folded from those events (granted ownership requests applied) and the
/// events themselves. A merge the cut admits folds its merged lead into its survivor, as the
/// projector would have over the cut log. Returns those merges and links: merged lead or
/// linked visitor → the lead it is folded into.
pub async fn for_each_lead(
    pool: &PgPool,
    tenant: &str,
    cut: &Cut,
    captured: Captured,
    mut each: impl FnMut(&str, LeadState, &[Event]),
) -> Result<HashMap<String, String>, StoreError> {
    let mut conn = pool.acquire().await?;
    let mut tx = crate::db::snapshot(&mut conn).await?;
    let granted: HashSet<Uuid> = sqlx::query_scalar(GRANTED)
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
    let merges: Vec<(String, String, bool)> = sqlx::query_as(MERGES)
        .bind(tenant)
        .bind(cut.as_of)
        .bind(cut.known_at)
        .fetch_all(&mut *tx)
        .await?;
    let named: Vec<&str> = merges
        .iter()
        .flat_map(|(l, s, _)| [l.as_str(), s.as_str()])
        .collect();
    // Merged lead → survivor, linked visitor → lead, under the cut; the groups' events wait
    // for the end.
    let up: HashMap<&str, &str> = merges
        .iter()
        .filter(|(_, _, live)| *live)
        .map(|(l, s, _)| (l.as_str(), s.as_str()))
        .collect();
    // A visitor's root is its lead's (merges are one level deep, links go to a lead).
    let survivor: HashMap<&str, &str> = up
        .iter()
        .map(|(l, s)| (*l, up.get(s).copied().unwrap_or(s)))
        .collect();
    let grouped: HashSet<&str> = survivor.iter().flat_map(|(l, s)| [*l, *s]).collect();
    let mut groups: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    {
        let mut rows = sqlx::query_as::<_, (String, String, Vec<u8>)>(TIMELINES)
            .bind(tenant)
            .bind(captured.only)
            .bind(captured.before)
            .bind(cut.as_of)
            .bind(cut.known_at)
            .bind(&named)
            .fetch(&mut *tx);
        let mut lead = String::new();
        let mut events: Vec<Event> = Vec::new();
        while let Some((id, event_type, raw)) = rows.try_next().await? {
            // A link is no lead's fact (its visitor's touches are).
            if event_type == "identity_linked" {
                continue;
            }
            if grouped.contains(id.as_str()) {
                let root = survivor.get(id.as_str()).copied().unwrap_or(id.as_str());
                let mut e = decode(&raw, &event_type)?;
                e.lead_id = root.to_string();
                groups.entry(root.to_string()).or_default().push(e);
                continue;
            }
            // A visitor not linked under the cut is no lead.
            if visitor::is_visitor(&id) {
                continue;
            }
            if id != lead && !events.is_empty() {
                each(&lead, fold_with(&events, &granted), &events);
                events.clear();
            }
            lead = id;
            events.push(decode(&raw, &event_type)?);
        }
        if !events.is_empty() {
            each(&lead, fold_with(&events, &granted), &events);
        }
    }
    for (root, events) in groups {
        each(&root, fold_with(&events, &granted), &events);
    }
    let roots = survivor
        .into_iter()
        .map(|(l, s)| (l.to_string(), s.to_string()))
        .collect();
    tx.commit().await?;
    Ok(roots)
}
