//! SLA clocks: each policy's clocks on one lead, as a pure function of its timeline and "now".
//!
//! Nothing is stored incrementally: [`evaluate`] replays the lead's events in business order
//! `(occurred_at, event_id)` — the lifecycle fold's order, with the same de-duplication — so
//! rebuilding from the log, in any arrival order, gives the same clocks, and evaluating at an
//! earlier `now` gives the state the clock had then.
//!
//! # Rules
//! - **Open.** A clock opens on a `start` fact when no clock of that policy is running on the
//!   lead. Start facts while one runs are ignored: the clock measures from the earliest
//!   trigger (MQL, not the hand-off an hour later). After a clock is met or stopped, the next
//!   start fact opens a new one (a recycled lead that qualifies again gets a new clock).
//! - **Due.** `due_at` = start + allowance, in working time for business-time policies (a
//!   start outside working hours effectively starts at the next working instant);
//!   `at_risk_at` likewise with `at_risk_share × allowance`.
//! - **Met.** The first `target` fact after the start ends the clock: `Met` when it occurred
//!   at or before `due_at`, `MetLate` (with `breached_at = due_at`) when after. Business time
//!   wins over arrival time: a follow-up that happened before the due time but was recorded
//!   (ingested) after it is `Met`; its late recording is visible as `end_recorded_at`.
//! - **Stopped.** A `stop_on` fact ends a running clock: `Stopped`, with `breached_at` set if
//!   the stop came after the due time (the breach stands; stopping later does not erase it).
//!   If one fact is both a target and a stop for a policy, it counts as the target.
//! - **Running.** Otherwise, at `now`: `Breached{at: due_at}` when `now > due_at`, `AtRisk`
//!   when `now >= at_risk_at`, else `Open`. A breached clock keeps waiting for its target, so
//!   a late-arriving fact turns it into `MetLate`.
//! - **Now.** Facts that occurred after `now` are ignored — they have not happened yet in
//!   business time — so `evaluate` at a past instant replays history.
//! - **Scope.** Policies whose [`crate::policy::Scope`] does not match the lead's folded
//!   state get no clocks.
//!
//! Clocks are returned sorted by `(started_at, start_event_id, policy_id)`.
//!
//! # Layout
//! - [`ClockState`], [`Clock`]: the result.
//! - [`evaluate`]: all policies on one lead; per-policy replay in `clocks_for`.

use chrono::{DateTime, Utc};
use leadledger_domain::{Event, LeadState};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::BusinessCalendar;
use crate::kind::{any_matches, business_order, EventKind, Ownership};
use crate::policy::SlaPolicy;

/// Where a clock stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClockState {
    /// Running, under the at-risk threshold.
    Open,
    /// Running, at or past `at_risk_at`, not yet past `due_at`.
    AtRisk,
    /// The target occurred at or before the due time.
    Met { at: DateTime<Utc> },
    /// The target occurred after the due time.
    MetLate {
        at: DateTime<Utc>,
        breached_at: DateTime<Utc>,
    },
    /// Running past the due time.
    Breached { at: DateTime<Utc> },
    /// The lead left the measured flow; `breached_at` if that was after the due time.
    Stopped {
        at: DateTime<Utc>,
        reason: EventKind,
        breached_at: Option<DateTime<Utc>>,
    },
}

impl ClockState {
    /// Whether the clock still waits for its target.
    pub fn is_running(&self) -> bool {
        matches!(
            self,
            ClockState::Open | ClockState::AtRisk | ClockState::Breached { .. }
        )
    }

    /// The breach instant, if the clock was ever breached.
    pub fn breached_at(&self) -> Option<DateTime<Utc>> {
        match self {
            ClockState::Breached { at } => Some(*at),
            ClockState::MetLate { breached_at, .. } => Some(*breached_at),
            ClockState::Stopped { breached_at, .. } => *breached_at,
            _ => None,
        }
    }

    /// Name for reports: `open`, `at_risk`, `met`, `met_late`, `breached`, `stopped`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ClockState::Open => "open",
            ClockState::AtRisk => "at_risk",
            ClockState::Met { .. } => "met",
            ClockState::MetLate { .. } => "met_late",
            ClockState::Breached { .. } => "breached",
            ClockState::Stopped { .. } => "stopped",
        }
    }
}

/// One SLA clock on one lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub policy_id: String,
    pub policy_version: u32,
    pub lead_id: String,
    pub started_at: DateTime<Utc>,
    /// The fact that opened the clock; future SLA events derive their ids from it.
    pub start_event_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub at_risk_at: DateTime<Utc>,
    pub state: ClockState,
    /// The fact that met or stopped the clock.
    pub end_event_id: Option<Uuid>,
    /// When that fact was recorded (ingested): after `due_at` on a `Met` clock means the
    /// fact arrived late but happened in time.
    pub end_recorded_at: Option<DateTime<Utc>>,
}

/// Every clock of every policy on one lead at `now`.
///
/// `lead` is the lead's timeline in any order (duplicates allowed); `lead_state` is its fold
/// (used for the policies' scope).
pub fn evaluate(
    policies: &[SlaPolicy],
    calendar: &BusinessCalendar,
    lead: &[Event],
    lead_state: &LeadState,
    now: DateTime<Utc>,
) -> Vec<Clock> {
    let events: Vec<&Event> = business_order(lead)
        .into_iter()
        .filter(|e| e.occurred_at <= now)
        .collect();
    let mut out: Vec<Clock> = policies
        .iter()
        .filter(|p| p.scope.matches(lead_state))
        .flat_map(|p| clocks_for(p, calendar, &events, now))
        .collect();
    out.sort_by(|a, b| {
        (a.started_at, a.start_event_id, &a.policy_id).cmp(&(
            b.started_at,
            b.start_event_id,
            &b.policy_id,
        ))
    });
    out
}

/// One policy's clocks over events already in business order and not after `now`.
fn clocks_for(
    p: &SlaPolicy,
    cal: &BusinessCalendar,
    events: &[&Event],
    now: DateTime<Utc>,
) -> Vec<Clock> {
    let mut out = Vec::new();
    let mut owner = Ownership::default();
    let mut running: Option<Clock> = None;
    for e in events {
        if let Some(mut c) = running.take() {
            let end = if any_matches(&p.target.kinds, e, &owner.0) {
                Some(if e.occurred_at <= c.due_at {
                    ClockState::Met { at: e.occurred_at }
                } else {
                    ClockState::MetLate {
                        at: e.occurred_at,
                        breached_at: c.due_at,
                    }
                })
            } else {
                p.stop_on
                    .iter()
                    .find(|k| k.matches(e, &owner.0))
                    .map(|&reason| ClockState::Stopped {
                        at: e.occurred_at,
                        reason,
                        breached_at: (e.occurred_at > c.due_at).then_some(c.due_at),
                    })
            };
            match end {
                Some(state) => {
                    c.state = state;
                    c.end_event_id = Some(e.event_id);
                    c.end_recorded_at = Some(e.recorded_at);
                    out.push(c);
                }
                None => running = Some(c),
            }
        } else if any_matches(&p.start.kinds, e, &owner.0) {
            running = Some(Clock {
                policy_id: p.id.clone(),
                policy_version: p.version,
                lead_id: e.lead_id.clone(),
                started_at: e.occurred_at,
                start_event_id: e.event_id,
                due_at: p.due_at(cal, e.occurred_at),
                at_risk_at: p.at_risk_at(cal, e.occurred_at),
                state: ClockState::Open,
                end_event_id: None,
                end_recorded_at: None,
            });
        }
        owner.apply(e);
    }
    if let Some(mut c) = running {
        c.state = if now > c.due_at {
            ClockState::Breached { at: c.due_at }
        } else if now >= c.at_risk_at {
            ClockState::AtRisk
        } else {
            ClockState::Open
        };
        out.push(c);
    }
    out
}
