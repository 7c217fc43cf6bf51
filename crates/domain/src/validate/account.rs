//! The rules of accounts and buying committees (`crate::account`): a capture's account id and
//! a `contact_role_assigned` fact, a `referred_by` fact, a `target_account_listed` fact.

use super::{lead_ref, text, Violations, ID};
use crate::account::ownership::{self, Listing, MAX_TIER};
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

/// Longest account name on the target list.
const NAME: usize = 256;

/// A `target_account_listed` payload: an account several leads can share, a tier (unless
/// delisted), an owner's id and team within limits.
pub(super) fn listing(v: &mut Violations, l: &Listing) {
    let f = "payload.target_account_listed";
    match ownership::parse_account(&l.account) {
        None => v.add(
            format!("{f}.account"),
            "must be account:<id> or domain:<domain> (or a bare domain); a free-mail domain \
             and a lead on its own are no target account",
        ),
        Some(crate::account::AccountKey::Explicit(id)) => {
            account_id(v, &format!("{f}.account"), &id)
        }
        Some(_) => {}
    }
    text(v, &format!("{f}.name"), &l.name, NAME);
    if l.delisted {
        if !l.owner_rep_id.is_empty() {
            v.add(format!("{f}.owner_rep_id"), "a delisting names no owner");
        }
    } else if l.tier.trim().is_empty() {
        v.add(
            format!("{f}.tier"),
            "required (e.g. KA, SMB) unless delisted",
        );
    } else {
        text(v, &format!("{f}.tier"), &l.tier, MAX_TIER);
        if l.tier.trim() != l.tier {
            v.add(
                format!("{f}.tier"),
                "must not start or end with white space (it is compared exactly)",
            );
        }
    }
    text(v, &format!("{f}.owner_rep_id"), &l.owner_rep_id, ID);
    text(v, &format!("{f}.owner_team"), &l.owner_team, ID);
}

/// A listing sits under its account's key (the server files it there; other facts with a
/// `~` key are refused with the lead id).
pub(super) fn filed_under_account(v: &mut Violations, e: &Event) {
    if let Payload::TargetAccountListed(l) = &e.payload {
        let key = ownership::parse_account(&l.account).map(|k| ownership::log_key(&k));
        if key.is_some_and(|k| k != e.lead_id) {
            v.add(
                "lead_id",
                "must be empty for target_account_listed (the server files it under the \
                 account's key)",
            );
        }
    }
}
