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
}
