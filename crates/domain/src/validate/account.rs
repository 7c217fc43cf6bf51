//! The rules of accounts and buying committees (`crate::account`): a capture's account id and
//! a `contact_role_assigned` fact, a `referred_by` fact.

use super::{lead_ref, text, Violations, ID};
use crate::account::{ContactRole, Referred, RoleAssigned};
use crate::event::{Event, Payload};

/// A capture's `company.account_id` at field `f`: optional, at most [`ID`] characters, no
/// control characters, and no white space around it (it is compared exactly).
pub(super) fn account_id(v: &mut Violations, f: &str, id: &str) {
    let before = v.len();
    text(v, f, id, ID);
    if v.len() == before && id.trim() != id {
        v.add(
            f,
            "must not start or end with white space (it is compared exactly)",
        );
    }
}

/// A `contact_role_assigned` payload: a known role, never primary when no longer involved.
pub(super) fn role(v: &mut Violations, r: &RoleAssigned) {
    let f = "payload.contact_role_assigned";
    match ContactRole::from_number(r.role) {
        None => v.add(
            format!("{f}.role"),
            format!("must be one of the ContactRole values (got {})", r.role),
        ),
        Some(ContactRole::NotInvolved) if r.primary => v.add(
            format!("{f}.primary"),
            "a contact no longer involved cannot be the primary one",
        ),
        Some(_) => {}
    }
    text(v, &format!("{f}.rep_id"), &r.rep_id, ID);
}

/// A `referred_by` payload: the referrer is a lead's id.
pub(super) fn referral(v: &mut Violations, r: &Referred) {
    let f = "payload.referred_by";
    lead_ref(v, &format!("{f}.referrer_lead_id"), &r.referrer);
    text(v, &format!("{f}.rep_id"), &r.rep_id, ID);
}

/// A lead never refers itself.
pub(super) fn self_referral(v: &mut Violations, e: &Event) {
    if let Payload::ReferredBy(r) = &e.payload {
        if !r.referrer.is_empty() && r.referrer == e.lead_id {
            v.add(
                "payload.referred_by.referrer_lead_id",
                "a lead cannot refer itself",
            );
        }
    }
}
