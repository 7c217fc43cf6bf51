//! Escalation ladders: what happens to a clock that keeps running past its thresholds.
//!
//! A policy may list steps (`[[policy.escalation]]`, docs/SLA.md "Escalation"). Each counts
//! from a threshold of the clock — at risk or breached — plus a delay (`after`, counted like
//! the allowance: working time or elapsed time, paused time not counted), and then tells
//! people (the owner, the owner's manager, the team lead, or a named recipient) and may move
//! the lead (to the next rep of the routing rule's rotation, or back to the pool).
//!
//! Steps are taken in the order of their instants, one at a time, each once per clock: the
//! SLA worker appends an `SlaEscalated` fact with an id derived from the clock's start event,
//! the policy and the step; the clock evaluation ([`crate::clock`]) sees it in the timeline
//! and moves on to the next step. So everything here is a function of the timeline, and a
//! replay stores the same "next step" for every clock.
//!
//! # Rules
//! - A step's instant is when `threshold allowance + after` of counted time has passed since
//!   the clock's start, less the paused time before it ([`crate::pause::threshold`]).
//! - While the clock is paused from before a step's instant, the step waits: the customer is
//!   the one holding things up. A pause that begins at or after the instant does not hold it.
//! - A clock that is met or stopped takes no more steps.
//!
//! # Layout
//! - [`Recipient`], [`Reassign`], [`EscalationStep`]: a step as the policy file gives it
//!   (defined in `ladder`, which the policy holds; [`SlaPolicy::step_offset`] places it).
//! - [`NextEscalation`], [`next_step`]: the step a running clock waits for, and when.
//! - [`recipients`]: who a step tells, resolved against the lead's owner and the roster.

use chrono::{DateTime, Utc};
use leadledger_domain::event::Owner;
use serde::{Deserialize, Serialize};

use crate::calendar::BusinessCalendar;
use crate::pause::threshold;
use crate::policy::SlaPolicy;
use crate::routing::RoutingSetup;

pub use crate::ladder::{EscalationStep, Reassign, Recipient, MAX_STEPS};

/// The step a running clock waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextEscalation {
    pub step_id: String,
    /// When it is due; `None` while a pause that began before it lasts.
    pub at: Option<DateTime<Utc>>,
}

/// The first of `p`'s steps (in offset order, as [`SlaPolicy::escalation`] keeps them) not in
/// `done`, for a running clock started at `start` with the ended `pauses` (sorted, clipped to
/// the start) and, if paused now, since when. `None` when every step is taken.
pub fn next_step(
    p: &SlaPolicy,
    cal: &BusinessCalendar,
    start: DateTime<Utc>,
    pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    paused_since: Option<DateTime<Utc>>,
    done: &[String],
) -> Option<NextEscalation> {
    let step = p.escalation.iter().find(|s| !done.contains(&s.id))?;
    let at = threshold(p, cal, start, p.step_offset(step), pauses);
    Some(NextEscalation {
        step_id: step.id.clone(),
        at: paused_since.is_none_or(|since| since >= at).then_some(at),
    })
}

/// Who `step` tells, as `role:id` (or the named recipient), and the recipients it names that
/// cannot be resolved, with why. `owner` is the lead's owner when the step is taken; `roster`
/// the tenant's routing section, if any.
pub fn recipients(
    step: &EscalationStep,
    owner: &Owner,
    roster: Option<&RoutingSetup>,
) -> (Vec<String>, Vec<String>) {
    let mut to = Vec::new();
    let mut missing = Vec::new();
    let rep = roster.and_then(|r| r.reps.iter().find(|c| c.rep_id == owner.rep_id));
    let team = if owner.team.is_empty() {
        rep.map(|r| r.team.as_str()).unwrap_or_default()
    } else {
        owner.team.as_str()
    };
    for r in &step.notify {
        let found = match r {
            Recipient::Owner => [
                ("owner", &owner.rep_id),
                ("partner", &owner.partner_id),
                ("queue", &owner.queue),
                ("team", &owner.team),
            ]
            .into_iter()
            .find(|(_, id)| !id.is_empty())
            .map(|(role, id)| format!("{role}:{id}"))
            .ok_or_else(|| "owner: the lead has no owner".to_string()),
            Recipient::Manager => match (owner.rep_id.as_str(), rep) {
                ("", _) => Err("manager: the lead has no rep".to_string()),
                (id, None) => Err(format!("manager: rep `{id}` is not on the roster")),
                (id, Some(c)) if c.manager.is_empty() => {
                    Err(format!("manager: rep `{id}` has no manager on the roster"))
                }
                (_, Some(c)) => Ok(format!("manager:{}", c.manager)),
            },
            Recipient::TeamLead => {
                let lead = roster
                    .and_then(|r| r.teams.iter().find(|t| t.id == team))
                    .map(|t| t.lead.as_str())
                    .filter(|l| !l.is_empty());
                match (team, lead) {
                    ("", _) => Err("team_lead: the lead has no team".to_string()),
                    (_, Some(l)) => Ok(format!("team_lead:{l}")),
                    (t, None) => Err(format!("team_lead: team `{t}` has no lead on the roster")),
                }
            }
            Recipient::Named(name) => Ok(name.clone()),
        };
        match found {
            Ok(r) if !to.contains(&r) => to.push(r),
            Ok(_) => {}
            Err(why) => missing.push(why),
        }
    }
    (to, missing)
}
