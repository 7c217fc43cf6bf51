//! Accounts and buying committees: which leads are people of the same company, and what
//! each one is in the deal (docs/IDENTITY.md, "Accounts and buying committees").
//!
//! A lead's account is, in this order of precedence:
//! 1. the **explicit account id** its capture gives (`Company.account_id`, the CRM's account),
//!    whatever its domains say;
//! 2. its **employer's domain** ([`crate::company::employer_domain`]: the company domain, else
//!    the e-mail's, never a free-mail one);
//! 3. **itself**, when it has neither.
//!
//! A contact's role on the committee comes from `ContactRoleAssigned` facts, the latest one
//! (in the lead's timeline order) holding.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod coverage;
pub mod ownership;

/// Which account a lead belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AccountKey {
    /// An account id given by the source system (`Company.account_id`).
    Explicit(String),
    /// A company domain shared by its leads.
    Domain(String),
    /// A lead on its own (free mail or no domain, no account id), by lead id.
    Lead(String),
}

/// The prefix of a lead that is an account on its own (`lead:<id>`).
const LEAD_PREFIX: &str = "lead:";

impl AccountKey {
    /// The key as stored and as the API names it: `account:<id>`, `domain:<d>` or
    /// `lead:<id>`.
    pub fn text(&self) -> String {
        match self {
            AccountKey::Explicit(id) => format!("account:{id}"),
            AccountKey::Domain(d) => format!("domain:{d}"),
            AccountKey::Lead(l) => format!("{LEAD_PREFIX}{l}"),
        }
    }

    /// Whether a key as [`AccountKey::text`] writes it names an account several leads can
    /// share ([`AccountKey::is_shared`] without parsing it).
    pub fn text_is_shared(text: &str) -> bool {
        !text.starts_with(LEAD_PREFIX)
    }

    /// The key named by `text` (as [`AccountKey::text`] writes it); a domain is normalised
    /// ([`crate::company::normalize_domain`]). `None` for another prefix, an empty id or a
    /// free-mail domain (which never forms an account).
    pub fn parse(text: &str) -> Option<AccountKey> {
        let (kind, rest) = text.split_once(':')?;
        if rest.is_empty() {
            return None;
        }
        match kind {
            "account" => Some(AccountKey::Explicit(rest.to_string())),
            "domain" => crate::company::normalize_domain(rest)
                .filter(|d| !crate::company::is_free_mail(d))
                .map(AccountKey::Domain),
            "lead" => Some(AccountKey::Lead(rest.to_string())),
            _ => None,
        }
    }

    /// Whether several leads can share this account (an explicit id or a domain).
    pub fn is_shared(&self) -> bool {
        !matches!(self, AccountKey::Lead(_))
    }
}

/// The account of lead `lead_id` with `account_id`, `company_domain` and `email_domain`: the
/// explicit id, else the employer's domain, else the lead itself (the module's rule).
pub fn account_key(
    lead_id: &str,
    account_id: &str,
    company_domain: &str,
    email_domain: &str,
) -> AccountKey {
    if !account_id.is_empty() {
        return AccountKey::Explicit(account_id.to_string());
    }
    match crate::company::employer_domain(company_domain, email_domain) {
        Some(d) => AccountKey::Domain(d),
        None => AccountKey::Lead(lead_id.to_string()),
    }
}

/// A contact's part in the buying committee (proto `ContactRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ContactRole {
    DecisionMaker,
    Champion,
    Influencer,
    User,
    Procurement,
    /// No longer part of the committee (a role taken back).
    NotInvolved,
}

impl ContactRole {
    pub const ALL: [ContactRole; 6] = [
        ContactRole::DecisionMaker,
        ContactRole::Champion,
        ContactRole::Influencer,
        ContactRole::User,
        ContactRole::Procurement,
        ContactRole::NotInvolved,
    ];

    /// The proto number.
    pub fn number(self) -> i32 {
        match self {
            ContactRole::DecisionMaker => 1,
            ContactRole::Champion => 2,
            ContactRole::Influencer => 3,
            ContactRole::User => 4,
            ContactRole::Procurement => 5,
            ContactRole::NotInvolved => 6,
        }
    }

    /// The role of a proto number; `None` for 0 (unspecified) or a number this reader does
    /// not know.
    pub fn from_number(n: i32) -> Option<ContactRole> {
        ContactRole::ALL.into_iter().find(|r| r.number() == n)
    }

    /// The name read models and reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactRole::DecisionMaker => "decision_maker",
            ContactRole::Champion => "champion",
            ContactRole::Influencer => "influencer",
            ContactRole::User => "user",
            ContactRole::Procurement => "procurement",
            ContactRole::NotInvolved => "not_involved",
        }
    }

    /// The role named `s` (as [`ContactRole::as_str`] writes it).
    pub fn parse(s: &str) -> Option<ContactRole> {
        ContactRole::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// `ContactRoleAssigned`: the lead's contact takes `role` on its account's buying committee;
/// with `primary`, it is the account's primary contact (the latest such assignment in the
/// account holds). Sent by clients (a CRM's contact roles).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssigned {
    /// Proto `ContactRole` number (validated at ingest; a number a newer writer added reads as
    /// no role).
    pub role: i32,
    #[serde(default)]
    pub primary: bool,
    /// Who said so (a rep or a CRM user), optional.
    #[serde(default)]
    pub rep_id: String,
}

/// `ReferredBy`: the lead's contact was referred by the contact of lead `referrer` (a
/// colleague, a customer). Attribution reads it as a touch of the referrer's channel
/// (`leadledger_attribution::touch`, "Referrals"). Sent by clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referred {
    /// The referring lead's id.
    pub referrer: String,
    /// Who recorded it, optional.
    #[serde(default)]
    pub rep_id: String,
}

/// A member's primary-contact facts, as [`primary_contact`] reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrimaryClaim<'a> {
    pub lead_id: &'a str,
    /// Whether the member holds a role this reader knows: a member without one (none given,
    /// or a newer writer's) is on no committee and claims nothing.
    pub has_role: bool,
    /// Whether the member's latest role assignment says primary.
    pub primary_contact: bool,
    /// When the member was last made primary.
    pub primary_since: Option<DateTime<Utc>>,
}

/// An account's primary contact among its members: the member made primary last (ties: the
/// smallest lead id), while its own latest assignment still says primary. Making a contact
/// primary takes it from the one before; a later assignment of that contact without
/// `primary` leaves the account with none until someone is made primary again. Only members
/// holding a known role take part (as `GetAccount`'s committee lists them).
pub fn primary_contact<'a>(members: impl IntoIterator<Item = PrimaryClaim<'a>>) -> Option<&'a str> {
    members
        .into_iter()
        .filter(|m| m.has_role && m.primary_since.is_some())
        .max_by(|a, b| {
            a.primary_since
                .cmp(&b.primary_since)
                .then_with(|| b.lead_id.cmp(a.lead_id))
        })
        .filter(|m| m.primary_contact)
        .map(|m| m.lead_id)
}

/// Which of an account's contacts stand for it in an account-level measure (proto
/// `AccountScope`; docs/IDENTITY.md, "Account-level funnel and attribution").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Every lead of the account.
    #[default]
    AllContacts,
    /// The buying committee: the leads holding a role other than `NOT_INVOLVED`.
    Committee,
    /// The account's primary contact alone ([`primary_contact`]).
    PrimaryContact,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::AllContacts, Scope::Committee, Scope::PrimaryContact];

    /// Whether a member with `role` (its latest; `None` for none or one this reader does not
    /// know) that is (`is_primary`) or is not the account's primary contact is selected.
    pub fn selects(self, role: Option<ContactRole>, is_primary: bool) -> bool {
        match self {
            Scope::AllContacts => true,
            Scope::Committee => role.is_some_and(|r| r != ContactRole::NotInvolved),
            Scope::PrimaryContact => is_primary,
        }
    }

    /// The name responses and the docs use.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AllContacts => "all_contacts",
            Scope::Committee => "committee",
            Scope::PrimaryContact => "primary_contact",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_account_id_wins_then_the_employer_then_the_lead() {
        assert_eq!(
            account_key("l1", "crm-7", "acme.com", "x@globex.com"),
            AccountKey::Explicit("crm-7".into())
        );
        assert_eq!(
            account_key("l1", "", "https://www.Acme.com/", "globex.com"),
            AccountKey::Domain("acme.com".into())
        );
        assert_eq!(
            account_key("l1", "", "", "globex.com"),
            AccountKey::Domain("globex.com".into())
        );
        // Free mail never forms an account.
        assert_eq!(
            account_key("l1", "", "qq.com", "gmail.com"),
            AccountKey::Lead("l1".into())
        );
        assert_eq!(account_key("l1", "", "", ""), AccountKey::Lead("l1".into()));
    }

    #[test]
    fn keys_read_back_as_written() {
        for k in [
            AccountKey::Explicit("crm:7/x".into()),
            AccountKey::Domain("acme.com".into()),
            AccountKey::Lead("l-1".into()),
        ] {
            assert_eq!(AccountKey::parse(&k.text()), Some(k.clone()));
            assert_eq!(k.is_shared(), !matches!(k, AccountKey::Lead(_)));
            assert_eq!(AccountKey::text_is_shared(&k.text()), k.is_shared());
        }
        assert_eq!(
            AccountKey::parse("domain:WWW.Acme.com"),
            Some(AccountKey::Domain("acme.com".into()))
        );
        for bad in [
            "domain:qq.com",
            "domain:",
            "account:",
            "acme.com",
            "team:x",
            "",
        ] {
            assert_eq!(AccountKey::parse(bad), None, "{bad}");
        }
    }

    fn claim(lead: &str, primary: bool, since: Option<u32>) -> PrimaryClaim<'_> {
        use chrono::TimeZone;
        PrimaryClaim {
            lead_id: lead,
            has_role: true,
            primary_contact: primary,
            primary_since: since.map(|m| Utc.with_ymd_and_hms(2026, 5, 1, 9, m, 0).unwrap()),
        }
    }

    #[test]
    fn the_primary_is_the_latest_assignment_made_primary() {
        let m = [
            claim("a", true, Some(1)),
            claim("b", true, Some(3)),
            claim("c", false, None),
        ];
        assert_eq!(primary_contact(m), Some("b"));
        assert_eq!(
            primary_contact([claim("z", true, Some(1)), claim("y", true, Some(1))]),
            Some("y")
        );
        assert_eq!(primary_contact([claim("c", false, None)]), None);
        // b's later assignment without `primary` gives the account none: a's older claim was
        // taken by b's.
        assert_eq!(
            primary_contact([claim("a", true, Some(1)), claim("b", false, Some(3))]),
            None
        );
        // A member whose role this reader does not know claims nothing.
        let unknown = PrimaryClaim {
            has_role: false,
            ..claim("c", true, Some(5))
        };
        assert_eq!(
            primary_contact([claim("a", true, Some(1)), unknown]),
            Some("a")
        );
    }

    #[test]
    fn scopes_select_everyone_the_committee_or_the_primary() {
        use ContactRole::*;
        for (scope, role, primary, selected) in [
            (Scope::AllContacts, None, false, true),
            (Scope::AllContacts, Some(NotInvolved), false, true),
            (Scope::Committee, Some(User), false, true),
            (Scope::Committee, Some(DecisionMaker), true, true),
            (Scope::Committee, Some(NotInvolved), false, false),
            (Scope::Committee, None, false, false),
            (Scope::PrimaryContact, Some(Champion), false, false),
            (Scope::PrimaryContact, Some(Champion), true, true),
            (Scope::PrimaryContact, None, true, true),
        ] {
            assert_eq!(
                scope.selects(role, primary),
                selected,
                "{scope:?} {role:?} {primary}"
            );
        }
    }

    #[test]
    fn roles_have_one_number_and_one_name() {
        for r in ContactRole::ALL {
            assert_eq!(ContactRole::from_number(r.number()), Some(r));
            assert_eq!(ContactRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(ContactRole::from_number(0), None);
        assert_eq!(ContactRole::from_number(7), None);
    }
}
