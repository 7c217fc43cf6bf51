//! A lead's SLA clocks as the rows of `sla_clocks`.
//!
//! Every policy is evaluated over the lead's whole timeline. A clock still waiting for its
//! target is stored as `running` with its at-risk and due instants; whether it is at risk or
//! breached is a function of "now", applied when it is read (`sla_clock_state` in SQL), so
//! the rows never depend on the wall clock. A paused clock is stored as `paused` with the
//! instant its pause began and the thresholds it had then (before that instant it was
//! running with them). A running clock also stores its next escalation step and that step's
//! instant (none while a pause holds it), which the SLA worker polls.

use chrono::{DateTime, Utc};
use leadledger_domain::ids::sla_alert_id;
use leadledger_domain::{Event, LeadState};
use leadledger_sla::{evaluate, ClockState};
use uuid::Uuid;

use crate::Derivations;

/// One row of `sla_clocks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockRow {
    pub policy_id: String,
    pub start_event_id: Uuid,
    pub policy_version: u32,
    pub started_at: DateTime<Utc>,
    pub at_risk_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// `running`, `paused`, `met`, `met_late` or `stopped`.
    pub status: &'static str,
    /// Since when a `paused` clock counts no time.
    pub paused_at: Option<DateTime<Utc>>,
    /// Its ended pauses that began before its due time: a report at an instant inside one
    /// reads it as paused.
    pub pauses: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_event_id: Option<Uuid>,
    pub end_recorded_at: Option<DateTime<Utc>>,
    /// Why a stopped clock stopped; "" otherwise.
    pub stop_reason: &'static str,
    pub breached_at: Option<DateTime<Utc>>,
    pub at_risk_event_id: Uuid,
    pub breach_event_id: Uuid,
    /// Whether the lead's timeline holds the at-risk alert (`at_risk_event_id`), resp. the
    /// breach alert: the SLA worker looks only at running clocks whose due alert is not
    /// there yet, so a clock breached long ago and already alerted costs it nothing.
    pub at_risk_alerted: bool,
    pub breach_alerted: bool,
    /// A running clock's next escalation step not taken yet (`None`: none left).
    pub escalation_step: Option<String>,
    /// When that step is due; `None` while a pause that began before it lasts.
    pub escalation_at: Option<DateTime<Utc>>,
}

/// The clocks of every policy of `tenant` on one lead, over its whole timeline (`state` is
/// its fold, which decides the policies' scope).
pub fn lead_clocks(
    d: &Derivations,
    tenant: &str,
    events: &[Event],
    state: &LeadState,
) -> Vec<ClockRow> {
    let set = d.policies(tenant);
    evaluate(
        &set.policies,
        &set.calendar,
        events,
        state,
        DateTime::<Utc>::MAX_UTC,
    )
    .into_iter()
    .map(|c| {
        let at_risk_event_id = sla_alert_id(c.start_event_id, &c.policy_id, "at_risk");
        let breach_event_id = sla_alert_id(c.start_event_id, &c.policy_id, "breached");
        let in_timeline = |id: Uuid| events.iter().any(|e| e.event_id == id);
        let paused_at = match &c.state {
            ClockState::Paused { since } => Some(*since),
            _ => None,
        };
        let (status, ended_at, stop_reason, breached_at) = match &c.state {
            ClockState::Met { at } => ("met", Some(*at), "", None),
            ClockState::MetLate { at, breached_at } => {
                ("met_late", Some(*at), "", Some(*breached_at))
            }
            ClockState::Stopped {
                at,
                reason,
                breached_at,
            } => ("stopped", Some(*at), reason.as_str(), *breached_at),
            ClockState::Paused { .. } => ("paused", None, "", None),
            ClockState::Open | ClockState::AtRisk | ClockState::Breached { .. } => {
                ("running", None, "", None)
            }
        };
        let (escalation_step, escalation_at) = match c.escalation {
            Some(n) => (Some(n.step_id), n.at),
            None => (None, None),
        };
        ClockRow {
            escalation_step,
            escalation_at,
            at_risk_alerted: in_timeline(at_risk_event_id),
            breach_alerted: in_timeline(breach_event_id),
            at_risk_event_id,
            breach_event_id,
            policy_id: c.policy_id,
            start_event_id: c.start_event_id,
            policy_version: c.policy_version,
            started_at: c.started_at,
            at_risk_at: c.at_risk_at,
            due_at: c.due_at,
            status,
            paused_at,
            pauses: c.pauses,
            ended_at,
            end_event_id: c.end_event_id,
            end_recorded_at: c.end_recorded_at,
            stop_reason,
            breached_at,
        }
    })
    .collect()
}
