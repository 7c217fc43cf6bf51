//! The rules of accounts and buying committees (`crate::account`): a capture's account id and
//! a `contact_role_assigned` fact, a `referred_by` fact, and the account facts
//! (`target_account_listed`, `account_coverage_assigned`, `renewal_scheduled`).

use super::{is_currency, lead_ref, text, Violations, ID, MAX_AMOUNT_MINOR};
use crate::account::coverage::{CoverageAssigned, CoverageRole, RenewalScheduled};
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

/// An account a client's account fact names at field `f`: one several leads can share.
pub(super) fn target(v: &mut Violations, f: &str, account: &str) {
    match ownership::parse_account(account) {
        None => v.add(
            f,
            "must be account:<id> or domain:<domain> (or a bare domain); a free-mail domain \
             and a lead on its own are no target account",
        ),
        Some(crate::account::AccountKey::Explicit(id)) => account_id(v, f, &id),
        Some(_) => {}
    }
}

/// An `account_coverage_assigned` payload: an account, a known role, who.
pub(super) fn coverage(v: &mut Violations, c: &CoverageAssigned) {
    let f = "payload.account_coverage_assigned";
    target(v, &format!("{f}.account"), &c.account);
    if CoverageRole::from_number(c.role).is_none() {
        v.add(
            format!("{f}.role"),
            format!("must be one of the CoverageRole values (got {})", c.role),
        );
    }
    if c.rep_id.trim().is_empty() {
        v.add(format!("{f}.rep_id"), "required");
    } else {
        text(v, &format!("{f}.rep_id"), &c.rep_id, ID);
    }
}

/// A `renewal_scheduled` payload: an account, a contract, a date a store can keep, an
/// amount with its currency.
pub(super) fn renewal(v: &mut Violations, r: &RenewalScheduled) {
    let f = "payload.renewal_scheduled";
    target(v, &format!("{f}.account"), &r.account);
    text(v, &format!("{f}.contract_id"), &r.contract_id, ID);
    if r.contract_id.trim().is_empty() {
        v.add(format!("{f}.contract_id"), "required");
    }
    // Within what every store keeps as a date (PostgreSQL's `date` ends at 4713 BC).
    if !(1900..=9999).contains(&chrono::Datelike::year(&r.renews_on)) {
        v.add(
            format!("{f}.renews_on"),
            "must be a date between 1900-01-01 and 9999-12-31",
        );
    }
    if !(0..=MAX_AMOUNT_MINOR).contains(&r.amount_minor) {
        v.add(format!("{f}.amount_minor"), "must be 0..10^15");
    }
    if (r.amount_minor > 0 || !r.currency.is_empty()) && !is_currency(&r.currency) {
        v.add(
            format!("{f}.currency"),
            "must be an ISO 4217 code such as CNY, USD or EUR (required with an amount)",
        );
    }
}

/// Longest account name on the target list.
const NAME: usize = 256;

/// A `target_account_listed` payload: an account several leads can share, a tier (unless
/// delisted), an owner's id and team within limits.
pub(super) fn listing(v: &mut Violations, l: &Listing) {
    let f = "payload.target_account_listed";
    target(v, &format!("{f}.account"), &l.account);
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

/// An account fact sits under its account's key (the server files it there; other facts with a
/// `~` key are refused with the lead id).
pub(super) fn filed_under_account(v: &mut Violations, e: &Event) {
    if let Some(account) = e.payload.client_account() {
        let key = ownership::parse_account(account).map(|k| ownership::log_key(&k));
        if key.is_some_and(|k| k != e.lead_id) {
            v.add(
                "lead_id",
                format!(
                    "must be empty for {} (the server files it under the account's key)",
                    e.payload.event_type()
                ),
            );
        }
    }
}
