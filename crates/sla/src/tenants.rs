//! Policy sets per tenant: each tenant may have its own calendar (time zone, working hours,
//! holidays), policies, feedback requirements and routing; the others use the default set.

use std::collections::BTreeMap;

use crate::policy::PolicySet;

/// The default policy set and the tenants that have their own.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantPolicies {
    pub default: PolicySet,
    pub tenants: BTreeMap<String, PolicySet>,
}

impl TenantPolicies {
    /// One set for every tenant.
    pub fn single(set: PolicySet) -> TenantPolicies {
        TenantPolicies {
            default: set,
            tenants: BTreeMap::new(),
        }
    }

    /// The set that applies to `tenant`.
    pub fn for_tenant(&self, tenant: &str) -> &PolicySet {
        self.tenants.get(tenant).unwrap_or(&self.default)
    }

    /// Which tenants route: `(default_routes, tenants with their own set that route,
    /// tenants with their own set that do not)`. A tenant routes when its set has `[routing]`.
    pub fn routing_tenants(&self) -> (bool, Vec<String>, Vec<String>) {
        let (with, without): (Vec<_>, Vec<_>) =
            self.tenants.iter().partition(|(_, s)| s.routing.is_some());
        (
            self.default.routing.is_some(),
            with.into_iter().map(|(t, _)| t.clone()).collect(),
            without.into_iter().map(|(t, _)| t.clone()).collect(),
        )
    }
}

impl TenantPolicies {
    /// A digest of everything that decides the SLA clocks (each set's calendar and
    /// policies, escalation ladders included; not feedback or routing): two processes with
    /// the same digest evaluate every clock alike. Hex SHA-256 of their `Debug` text, so a
    /// new build may give a new digest for the same file (that costs one more
    /// re-evaluation, never a wrong clock).
    pub fn clock_fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(format!(
            "{:?}{:?}",
            self.default.calendar, self.default.policies
        ));
        for (tenant, set) in &self.tenants {
            h.update(format!(
                "\u{1f}{tenant}{:?}{:?}",
                set.calendar, set.policies
            ));
        }
        format!("{:x}", h.finalize())
    }
}

impl Default for TenantPolicies {
    fn default() -> Self {
        TenantPolicies::single(PolicySet::defaults())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_with_its_own_file_gets_it_and_the_others_the_default() {
        let mut own = PolicySet::defaults();
        own.policies.truncate(1);
        let mut p = TenantPolicies::default();
        p.tenants.insert("acme".into(), own.clone());
        assert_eq!(p.for_tenant("acme"), &own);
        assert_eq!(p.for_tenant("demo"), &PolicySet::defaults());
        assert_eq!(p.routing_tenants(), (false, vec![], vec!["acme".into()]));
    }

    #[test]
    fn the_clock_fingerprint_follows_what_decides_the_clocks() {
        let base = TenantPolicies::default();
        assert_eq!(
            base.clock_fingerprint(),
            TenantPolicies::default().clock_fingerprint()
        );
        let mut longer = TenantPolicies::default();
        longer.default.policies[0].allowance = chrono::Duration::hours(48);
        assert_ne!(base.clock_fingerprint(), longer.clock_fingerprint());
        let mut own = TenantPolicies::default();
        own.tenants.insert("acme".into(), PolicySet::defaults());
        assert_ne!(base.clock_fingerprint(), own.clock_fingerprint());
        // Feedback requirements do not decide clocks.
        let mut feedback = TenantPolicies::default();
        feedback.default.feedback = crate::FeedbackRequirements::none();
        assert_eq!(base.clock_fingerprint(), feedback.clock_fingerprint());
    }
}
