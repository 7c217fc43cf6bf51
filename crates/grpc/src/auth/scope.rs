//! Who a call comes from ([`Caller`]) and what each RPC needs ([`Scope`], [`required`]).

use std::fmt;

/// What a key may do. `admin` may do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Append facts (`IngestService`).
    Ingest,
    /// Read the read models (`QueryService`, `AttributionService`, `SlaService`, listing
    /// ownership conflicts).
    Query,
    /// Commands that decide something (`ClaimLead`, `AssignLead`).
    Command,
    /// Everything above.
    Admin,
}

impl Scope {
    /// Every scope, as `keys create --scopes` names them.
    pub const ALL: [Scope; 4] = [Scope::Ingest, Scope::Query, Scope::Command, Scope::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Query => "query",
            Scope::Command => "command",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The authenticated caller of a request (in the request's extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The tenant the key is bound to: the tenant of everything the call does.
    pub tenant: String,
    pub scopes: Vec<Scope>,
    /// The key's public id (logged; the secret never is).
    pub key_id: String,
}

impl Caller {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope)
    }
}

/// What a call to `path` (`/package.Service/Method`) needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    /// Health and reflection, when configured open.
    Open,
    /// Any valid key.
    AnyKey,
    /// A key with this scope.
    Scope(Scope),
}

/// The requirement of an RPC; `open_health` leaves health and reflection open.
pub fn required(path: &str, open_health: bool) -> Required {
    let (service, method) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path, ""));
    // The names the generated servers declare (a renamed service cannot slip past here).
    use leadledger_api::pb::{
        attribution_service_server as attribution, identity_service_server as identity,
        ingest_service_server as ingest, ownership_service_server as ownership,
        privacy_service_server as privacy, query_service_server as query,
        sla_service_server as sla,
    };
    use tonic_reflection::pb::{v1 as reflection, v1alpha as reflection_alpha};
    match service {
        tonic_health::pb::health_server::SERVICE_NAME
        | reflection::server_reflection_server::SERVICE_NAME
        | reflection_alpha::server_reflection_server::SERVICE_NAME => {
            if open_health {
                Required::Open
            } else {
                Required::AnyKey
            }
        }
        ingest::SERVICE_NAME => Required::Scope(Scope::Ingest),
        // Erasing a person is for whoever answers for the tenant's personal data.
        privacy::SERVICE_NAME => Required::Scope(Scope::Admin),
        ownership::SERVICE_NAME if matches!(method, "ClaimLead" | "AssignLead") => {
            Required::Scope(Scope::Command)
        }
        identity::SERVICE_NAME if method == "ListDuplicateCandidates" => {
            Required::Scope(Scope::Query)
        }
        identity::SERVICE_NAME => Required::Scope(Scope::Command),
        ownership::SERVICE_NAME
        | query::SERVICE_NAME
        | attribution::SERVICE_NAME
        | sla::SERVICE_NAME => Required::Scope(Scope::Query),
        _ => Required::AnyKey,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rpc_needs_its_scope() {
        let r = |p| required(p, true);
        assert_eq!(
            r("/leadledger.v1.IngestService/Append"),
            Required::Scope(Scope::Ingest)
        );
        assert_eq!(
            r("/leadledger.v1.OwnershipService/ClaimLead"),
            Required::Scope(Scope::Command)
        );
        assert_eq!(
            r("/leadledger.v1.OwnershipService/ListOwnershipConflicts"),
            Required::Scope(Scope::Query)
        );
        assert_eq!(
            r("/leadledger.v1.SlaService/WatchSla"),
            Required::Scope(Scope::Query)
        );
        assert_eq!(
            r("/leadledger.v1.PrivacyService/EraseContact"),
            Required::Scope(Scope::Admin)
        );
        assert_eq!(
            r("/leadledger.v1.IdentityService/MergeLeads"),
            Required::Scope(Scope::Command)
        );
        assert_eq!(
            r("/leadledger.v1.IdentityService/UnmergeLead"),
            Required::Scope(Scope::Command)
        );
        assert_eq!(
            r("/leadledger.v1.IdentityService/ListDuplicateCandidates"),
            Required::Scope(Scope::Query)
        );
        assert_eq!(r("/grpc.health.v1.Health/Check"), Required::Open);
        assert_eq!(
            required("/grpc.health.v1.Health/Check", false),
            Required::AnyKey
        );
        assert_eq!(r("/nope.Service/X"), Required::AnyKey);
        let c = Caller {
            tenant: "acme".into(),
            scopes: vec![Scope::Admin],
            key_id: "k".into(),
        };
        assert!(Scope::ALL.iter().all(|s| c.allows(*s)));
        assert_eq!(Scope::parse("query"), Some(Scope::Query));
        assert_eq!(Scope::parse("root"), None);
    }
}
