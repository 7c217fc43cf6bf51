//! An escalation step as the policy file gives it: plain data, held by
//! [`crate::policy::SlaPolicy`] and evaluated by [`crate::escalation`].

use chrono::Duration;
use leadledger_domain::event::EscalationTrigger;
use serde::{Deserialize, Serialize};

/// Most steps one policy may list.
pub const MAX_STEPS: usize = 8;

/// Who a step tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recipient {
    /// The lead's rep (else its partner, queue or team).
    Owner,
    /// The owner rep's `manager` on the roster.
    Manager,
    /// The `lead` of the owner's team on the roster.
    TeamLead,
    /// A recipient named in the file (a channel, a user, a CRM queue).
    Named(String),
}

impl Recipient {
    /// `owner`, `manager`, `team_lead`, else a named recipient.
    pub fn parse(s: &str) -> Recipient {
        match s {
            "owner" => Recipient::Owner,
            "manager" => Recipient::Manager,
            "team_lead" => Recipient::TeamLead,
            other => Recipient::Named(other.to_string()),
        }
    }
}

/// Where a step moves the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reassign {
    /// The next rep of the routing rule's rotation, the late rep left out; the pool when no
    /// rep is eligible.
    NextRep,
    /// Back to the pool: the lead keeps its team (or queue) and loses its rep or partner,
    /// so any rep of the team may claim it.
    Pool,
}

impl Reassign {
    pub fn as_str(self) -> &'static str {
        match self {
            Reassign::NextRep => "next_rep",
            Reassign::Pool => "pool",
        }
    }
}

/// One step of a policy's escalation ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationStep {
    /// Unique within the policy (`[A-Za-z0-9_.-]`, 1..64): the step's facts derive their ids
    /// from it.
    pub id: String,
    pub trigger: EscalationTrigger,
    /// Counted time after the threshold (zero: at it).
    pub after: Duration,
    pub notify: Vec<Recipient>,
    pub reassign: Option<Reassign>,
}
