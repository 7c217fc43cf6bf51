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
//! - **Paused.** `ClockPaused` / `ClockResumed` facts stop and restart the counting of
//!   time ([`crate::pause`]): the paused time before a threshold moves it out. A clock whose
//!   pause began before its due time and has not ended by `now` is `Paused`, with the at-risk
//!   and due instants it had when the pause began; a target while paused meets it.
//! - **Escalation.** A running clock carries its policy's next escalation step not taken yet
//!   (an `SlaEscalated` fact naming its start event, policy and step is in the timeline)
//!   and the step's instant ([`crate::escalation`]).
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
use leadledger_domain::{Event, LeadState, Payload};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::BusinessCalendar;
use crate::escalation::{next_step, NextEscalation};
use crate::kind::{any_matches, business_order, EventKind, Ownership};
use crate::pause::{threshold, PauseChange, PauseTrack};
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
    /// Running, not counting time since `since` (before its due time): the lead's clocks of
    /// this policy are paused.
    Paused { since: DateTime<Utc> },
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
            ClockState::Open
                | ClockState::AtRisk
                | ClockState::Breached { .. }
                | ClockState::Paused { .. }
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

    /// Name for reports: `open`, `at_risk`, `met`, `met_late`, `breached`, `stopped`,
    /// `paused`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ClockState::Open => "open",
            ClockState::AtRisk => "at_risk",
            ClockState::Met { .. } => "met",
            ClockState::MetLate { .. } => "met_late",
            ClockState::Breached { .. } => "breached",
            ClockState::Stopped { .. } => "stopped",
            ClockState::Paused { .. } => "paused",
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
    /// Moved out by the paused time before it; while paused, as it was when the pause began.
    pub due_at: DateTime<Utc>,
    pub at_risk_at: DateTime<Utc>,
    pub state: ClockState,
    /// The fact that met or stopped the clock.
    pub end_event_id: Option<Uuid>,
    /// When that fact was recorded (ingested): after `due_at` on a `Met` clock means the
    /// fact arrived late but happened in time.
    pub end_recorded_at: Option<DateTime<Utc>>,
    /// The ended pauses `[from, to)` that began before the due time (clipped to the start;
    /// one running when the clock ended ends there):
    /// at an instant inside one the clock was paused.
    pub pauses: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// A running clock's next escalation step (`crate::escalation`); `None` when the policy
    /// has no step left for it or the clock ended.
    pub escalation: Option<NextEscalation>,
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

/// A clock still waiting for its target, with the pauses it has been through.
struct Running {
    clock: Clock,
    /// Ended pauses, clipped to the clock's start.
    pauses: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Since when it is paused, if it is.
    paused_since: Option<DateTime<Utc>>,
    /// The escalation steps taken for it (`SlaEscalated` facts in the timeline).
    escalated: Vec<String>,
}

impl Running {
    /// Whether the due time has passed at `t`: never while a pause that began before the due
    /// time lasts (the clock counted less than its allowance when it paused).
    fn late_at(&self, t: DateTime<Utc>) -> bool {
        t > self.clock.due_at && self.paused_since.is_none_or(|a| a >= self.clock.due_at)
    }

    /// The clock with its pauses, ended at `end`: a pause still running then ends there and
    /// moves the thresholds like a resume (so an ended clock's due time is never before an
    /// end that met it in time).
    fn finish(
        mut self,
        p: &SlaPolicy,
        cal: &BusinessCalendar,
        end: Option<DateTime<Utc>>,
    ) -> Clock {
        if let (Some(since), Some(to)) = (self.paused_since, end) {
            self.resume(p, cal, since, to);
        }
        let mut c = self.clock;
        c.pauses = self.pauses;
        c.pauses.retain(|(from, _)| *from < c.due_at);
        c
    }

    /// The pause that began at `since` ended at `to`: the thresholds move out by the paused
    /// time before them.
    fn resume(
        &mut self,
        p: &SlaPolicy,
        cal: &BusinessCalendar,
        since: DateTime<Utc>,
        to: DateTime<Utc>,
    ) {
        self.paused_since = None;
        let from = since.max(self.clock.started_at);
        if from >= to {
            return;
        }
        self.pauses.push((from, to));
        let at = |d| threshold(p, cal, self.clock.started_at, d, &self.pauses);
        self.clock.at_risk_at = at(p.at_risk_allowance());
        self.clock.due_at = at(p.allowance);
    }
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
    let mut pause = PauseTrack::default();
    let mut running: Option<Running> = None;
    for e in events {
        if let Some(r) = running.take() {
            let late = r.late_at(e.occurred_at);
            let due_at = r.clock.due_at;
            let end = if any_matches(&p.target.kinds, e, &owner.0) {
                Some(if late {
                    ClockState::MetLate {
                        at: e.occurred_at,
                        breached_at: due_at,
                    }
                } else {
                    ClockState::Met { at: e.occurred_at }
                })
            } else {
                p.stop_on
                    .iter()
                    .find(|k| k.matches(e, &owner.0))
                    .map(|&reason| ClockState::Stopped {
                        at: e.occurred_at,
                        reason,
                        breached_at: late.then_some(due_at),
                    })
            };
            match end {
                Some(state) => {
                    let mut c = r.finish(p, cal, Some(e.occurred_at));
                    c.state = state;
                    c.end_event_id = Some(e.event_id);
                    c.end_recorded_at = Some(e.recorded_at);
                    out.push(c);
                }
                None => running = Some(r),
            }
        } else if any_matches(&p.start.kinds, e, &owner.0) {
            running = Some(Running {
                clock: Clock {
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
                    pauses: Vec::new(),
                    escalation: None,
                },
                pauses: Vec::new(),
                paused_since: pause.since.map(|_| e.occurred_at),
                escalated: Vec::new(),
            });
        }
        if let (Some(r), Payload::SlaEscalated(x)) = (running.as_mut(), &e.payload) {
            if x.policy_id == p.id && x.start_event_id == r.clock.start_event_id {
                r.escalated.push(x.step_id.clone());
            }
        }
        match pause.apply(&p.id, e) {
            Some(PauseChange::Paused) => {
                if let Some(r) = running.as_mut() {
                    r.paused_since = Some(e.occurred_at);
                }
            }
            Some(PauseChange::Resumed { since }) => {
                if let Some(r) = running.as_mut() {
                    r.resume(p, cal, since, e.occurred_at);
                }
            }
            None => {}
        }
        owner.apply(e);
    }
    if let Some(r) = running {
        let paused_since = r.paused_since;
        let escalation = next_step(
            p,
            cal,
            r.clock.started_at,
            &r.pauses,
            paused_since,
            &r.escalated,
        );
        let mut c = r.finish(p, cal, None);
        c.escalation = escalation;
        c.state = match paused_since {
            Some(since) if since < c.due_at => ClockState::Paused { since },
            _ if now > c.due_at => ClockState::Breached { at: c.due_at },
            _ if now >= c.at_risk_at => ClockState::AtRisk,
            _ => ClockState::Open,
        };
        out.push(c);
    }
    out
}
