//! Paused clocks: while the customer holds things up, a lead's clocks count no time.
//!
//! `ClockPaused` / `ClockResumed` facts name the policies they apply to (none: every policy).
//! For one policy the lead is paused from the first pause that names it until the next
//! resume that names it; further pauses in between and resumes while not paused change
//! nothing. A clock counts the time of its policy's allowance only outside those intervals
//! (and, for business-time policies, only inside working hours), so its at-risk and due
//! instants move out by the paused time that falls before them. A pause that begins at or
//! after a threshold leaves that threshold where it was: a breach is not undone by pausing.
//!
//! # Layout
//! - [`PauseTrack`]: one policy's pause state while a lead's events are replayed.
//! - [`threshold`]: when `d` of counted time has passed since a start, given the pauses.

use chrono::{DateTime, Duration, Utc};
use leadledger_domain::{Event, Payload};

use crate::calendar::BusinessCalendar;
use crate::policy::SlaPolicy;

/// One policy's pause state on one lead, fed the lead's events in business order.
#[derive(Debug, Clone, Default)]
pub struct PauseTrack {
    /// Since when the policy is paused on the lead, if it is.
    pub since: Option<DateTime<Utc>>,
}

/// What an event did to a policy's pause state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseChange {
    /// The policy was paused at this instant.
    Paused,
    /// The pause that began at `since` ended at this event.
    Resumed { since: DateTime<Utc> },
}

impl PauseTrack {
    /// Applies `e` for policy `policy_id`.
    pub fn apply(&mut self, policy_id: &str, e: &Event) -> Option<PauseChange> {
        let names = |ids: &[String]| ids.is_empty() || ids.iter().any(|id| id == policy_id);
        match &e.payload {
            Payload::ClockPaused(p) if names(&p.policy_ids) && self.since.is_none() => {
                self.since = Some(e.occurred_at);
                Some(PauseChange::Paused)
            }
            Payload::ClockResumed(r) if names(&r.policy_ids) => self
                .since
                .take()
                .map(|since| PauseChange::Resumed { since }),
            _ => None,
        }
    }
}

/// The instant at which `d` of `p`'s counted time (working or elapsed) has passed since
/// `start`, less the time inside `pauses` (ended intervals `[from, to)`, sorted, disjoint,
/// none before `start`). A threshold reached exactly when a pause begins is reached.
pub fn threshold(
    p: &SlaPolicy,
    cal: &BusinessCalendar,
    start: DateTime<Utc>,
    d: Duration,
    pauses: &[(DateTime<Utc>, DateTime<Utc>)],
) -> DateTime<Utc> {
    let mut cursor = start;
    let mut left = d;
    for &(from, to) in pauses {
        let at = p.after(cal, cursor, left);
        if at <= from {
            return at;
        }
        left -= p.counted(cal, cursor, from);
        cursor = cursor.max(to);
    }
    p.after(cal, cursor, left)
}
