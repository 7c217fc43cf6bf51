//! The facts of SLA clocks, routing and escalation (written by leadledger's own workers,
//! paused and resumed by clients): their payloads' types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Owner;

/// An SLA clock crossed a threshold (see `SlaAtRisk` / `SlaBreached`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaAlert {
    pub policy_id: String,
    pub policy_version: u32,
    /// The event that opened the clock; the alert's id is derived from it.
    pub start_event_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// The customer holds things up: the lead's SLA clocks of `policy_ids` (empty: every policy)
/// count no time from this fact until a [`ClockResume`] naming them (docs/SLA.md, "Paused
/// clocks").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockPause {
    /// Proto `PauseReason` number, never 0 once validated.
    pub reason: i32,
    /// In words.
    #[serde(default)]
    pub note: String,
    /// The policies whose clocks pause; empty: every policy.
    #[serde(default)]
    pub policy_ids: Vec<String>,
    /// Who paused them (a rep or user id), if known.
    #[serde(default)]
    pub by: String,
}

/// The clocks a [`ClockPause`] held run again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockResume {
    /// The policies whose clocks resume; empty: every policy.
    #[serde(default)]
    pub policy_ids: Vec<String>,
    #[serde(default)]
    pub by: String,
    #[serde(default)]
    pub note: String,
}

/// leadledger's router assigned an MQL, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Routing {
    pub owner: Owner,
    /// Empty when the default target was used.
    pub rule_id: String,
    pub reason: String,
    /// Eligible reps and their weights, in rep id order.
    pub weights: Vec<(String, f64)>,
    /// Team members not eligible and why.
    pub skipped: Vec<(String, String)>,
    pub mql_event_id: Uuid,
}

/// The threshold an escalation step counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EscalationTrigger {
    AtRisk,
    Breached,
}

impl EscalationTrigger {
    /// `at_risk` / `breached`, as the policy file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationTrigger::AtRisk => "at_risk",
            EscalationTrigger::Breached => "breached",
        }
    }
}

/// An escalation step that moved the lead, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reassignment {
    pub to: Owner,
    /// `next_rep` or `pool`.
    pub mode: String,
    pub rule_id: String,
    pub reason: String,
    /// Eligible reps and their weights, in rep id order.
    pub weights: Vec<(String, f64)>,
    /// Team members not eligible and why (the late rep among them).
    pub skipped: Vec<(String, String)>,
}

/// A step of a policy's escalation ladder taken for a clock still waiting for its target
/// (written by the SLA worker; docs/SLA.md, "Escalation").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    pub policy_id: String,
    /// The version of the policy whose step this is.
    pub policy_version: u32,
    /// The event that opened the clock; the escalation's id is derived from it.
    pub start_event_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub step_id: String,
    pub trigger: EscalationTrigger,
    /// The step's delay after its threshold, in seconds of the policy's counted time.
    pub after_seconds: i64,
    /// The lead's owner when the step was taken: a reassignment applies only while the
    /// lead still has this owner.
    pub owner: Owner,
    /// Who is told: `role:id` or a literal recipient.
    pub notify: Vec<String>,
    /// Recipients the roster could not resolve, and why.
    pub unresolved: Vec<String>,
    pub reassignment: Option<Reassignment>,
}

impl Escalation {
    /// The clock the step was taken for, as an alert names it.
    pub fn clock(&self) -> SlaAlert {
        SlaAlert {
            policy_id: self.policy_id.clone(),
            policy_version: self.policy_version,
            start_event_id: self.start_event_id,
            started_at: self.started_at,
            due_at: self.due_at,
        }
    }

    /// The owner the step gives a lead whose owner is `current`: the reassignment's, when
    /// there is one and `current` is still the owner the step saw; else none (the lead keeps
    /// its owner).
    pub fn owner_after(&self, current: &Owner) -> Option<&Owner> {
        self.reassignment
            .as_ref()
            .filter(|_| *current == self.owner)
            .map(|r| &r.to)
    }
}
