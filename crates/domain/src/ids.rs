//! Deterministic event ids: the heart of exactly-once effects.
//!
//! The same source fact always gets the same id, so a retry, a duplicate delivery from a
//! CRM adapter or a replay of the log is recognised and applied once.

use uuid::Uuid;

/// Namespace of all leadledger event ids (a fixed random UUID; never change it: every
/// stored id depends on it).
pub const EVENT_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_6164_6c65_4467_8e72_1b2f_0a5c_93d1);

/// The id of a fact from a source system: UUIDv5 of `tenant \x1f system \x1f source_event_id`.
///
/// The unit separator cannot occur in validated ids, so distinct triples never collide by
/// concatenation.
pub fn source_event_id(tenant: &str, system: &str, source_event_id: &str) -> Uuid {
    let name = format!("{tenant}\u{1f}{system}\u{1f}{source_event_id}");
    Uuid::new_v5(&EVENT_NAMESPACE, name.as_bytes())
}

/// Namespace of the ids of client-supplied event UUIDs (a fixed random UUID, distinct from
/// [`EVENT_NAMESPACE`]; never change it).
pub const CLIENT_NAMESPACE: Uuid = Uuid::from_u128(0x2f1d_9a47_c3e0_4b6a_9d25_7e81_54c0_a3f9);

/// The stored id of an event whose client sent its own UUID: UUIDv5 of `tenant \x1f uuid`
/// under [`CLIENT_NAMESPACE`].
///
/// Scoping by the tenant means two tenants sending the same UUID get two events, and the
/// separate namespace means no UUID a client can send maps onto the id that a source fact
/// ([`source_event_id`]) or a derived event of any tenant gets: finding one would take a
/// SHA-1 preimage. A retry with the same UUID still gets the same id.
pub fn client_event_id(tenant: &str, client_uuid: Uuid) -> Uuid {
    let name = format!("{tenant}\u{1f}{}", client_uuid.hyphenated());
    Uuid::new_v5(&CLIENT_NAMESPACE, name.as_bytes())
}

/// Source systems only leadledger writes (its own commands): a client naming one is
/// refused, so it cannot take the id an ownership request of its tenant will get.
pub fn is_reserved_system(system: &str) -> bool {
    system.eq_ignore_ascii_case("leadledger")
        || system
            .get(..11)
            .is_some_and(|p| p.eq_ignore_ascii_case("leadledger."))
}

/// The id of an event derived from another one (e.g. an SLA breach derived from its trigger):
/// UUIDv5 of the trigger id and a kind, so re-deriving it after a restart gives the same id.
pub fn derived_event_id(trigger: Uuid, kind: &str) -> Uuid {
    Uuid::new_v5(&trigger, kind.as_bytes())
}

/// The id of the SLA alert (`kind`: `at_risk` or `breached`) of the clock that the event
/// `clock_start` opened under policy `policy_id`: the SLA worker re-deriving it after a
/// restart gets the same id, and the projector stores it on the clock's row.
pub fn sla_alert_id(clock_start: Uuid, policy_id: &str, kind: &str) -> Uuid {
    derived_event_id(clock_start, &format!("sla\u{1f}{policy_id}\u{1f}{kind}"))
}

/// The id of escalation step `step` of the clock of `policy_id` opened by `clock_start`.
pub fn escalation_id(clock_start: Uuid, policy_id: &str, step: &str) -> Uuid {
    sla_alert_id(clock_start, policy_id, &format!("escalation\u{1f}{step}"))
}

/// The id of the routing of the MQL event `mql_event_id`.
pub fn routed_id(mql_event_id: Uuid) -> Uuid {
    derived_event_id(mql_event_id, "routed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_source_fact_same_id() {
        let a = source_event_id("acme", "hubspot", "42");
        assert_eq!(a, source_event_id("acme", "hubspot", "42"));
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn any_part_changes_the_id() {
        let a = source_event_id("acme", "hubspot", "42");
        assert_ne!(a, source_event_id("acme2", "hubspot", "42"));
        assert_ne!(a, source_event_id("acme", "salesforce", "42"));
        assert_ne!(a, source_event_id("acme", "hubspot", "43"));
        // No ambiguity from concatenation.
        assert_ne!(
            source_event_id("ab", "c", "d"),
            source_event_id("a", "bc", "d")
        );
    }

    #[test]
    fn client_ids_are_scoped_by_tenant_and_never_meet_source_ids() {
        let u = Uuid::parse_str("0190f5e2-7a4b-7c3d-8e9f-0123456789ab").unwrap();
        assert_eq!(client_event_id("acme", u), client_event_id("acme", u));
        assert_ne!(client_event_id("acme", u), client_event_id("globex", u));
        assert_ne!(client_event_id("acme", u), u);
        // A client that computed another tenant's source id and sends it as its own UUID
        // gets a different id.
        let victim = source_event_id("globex", "hubspot", "42");
        assert_ne!(client_event_id("acme", victim), victim);
        assert_ne!(client_event_id("globex", victim), victim);
        assert!(is_reserved_system("leadledger.ownership"));
        assert!(is_reserved_system("LeadLedger"));
        assert!(!is_reserved_system("leadledgerx"));
        assert!(!is_reserved_system("hubspot"));
    }

    #[test]
    fn derived_ids_are_stable() {
        let t = source_event_id("acme", "hubspot", "42");
        assert_eq!(
            derived_event_id(t, "sla_breached"),
            derived_event_id(t, "sla_breached")
        );
        assert_ne!(
            derived_event_id(t, "sla_breached"),
            derived_event_id(t, "sla_at_risk")
        );
    }
}
