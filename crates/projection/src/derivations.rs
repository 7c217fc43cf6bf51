//! What the projection derives read models with.

use leadledger_domain::Event;
use leadledger_sla::feedback::LeadFeedback;
use leadledger_sla::{PolicySet, TenantPolicies};

/// Each tenant's SLA policy set (clocks and feedback requirements). Changing it changes
/// `sla_clocks` and the feedback columns of leads re-folded afterwards; a replay into a fresh
/// database recomputes every lead.
#[derive(Debug, Clone, Default)]
pub struct Derivations {
    pub sla: TenantPolicies,
}

impl Derivations {
    /// The policy set of `tenant`.
    pub fn policies(&self, tenant: &str) -> &PolicySet {
        self.sla.for_tenant(tenant)
    }

    /// The feedback a lead owes and has filled, over its timeline `events` (what the
    /// `leads` row's feedback columns hold).
    pub fn feedback(&self, tenant: &str, events: &[Event]) -> LeadFeedback {
        leadledger_sla::lead_feedback(events, &self.policies(tenant).feedback)
    }
}
