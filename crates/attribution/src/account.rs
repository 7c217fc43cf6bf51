//! Accounts: which leads belong to the same company, and the account-level path.
//!
//! B2B deals are bought by several people, so a deal may owe something to a colleague's
//! webinar visit. Leads join an account by the source system's **account id** when their
//! capture gives one (`leadledger_domain::account`), else by **company domain** (the capture's
//! `company.domain`, or the contact e-mail's domain when that is empty or free mail),
//! normalised: lower-cased, scheme, `www.`, path and trailing dot removed. Sub-domains stay
//! distinct (`cn.acme.com` ≠ `acme.com`): merging them needs a public-suffix list and a
//! business decision.
//!
//! **Free-mail domains never form an account**: two people writing from `qq.com` are not
//! colleagues. Such a lead, and a lead without any domain, is its own account.
//!
//! The **account-level path** of a conversion is the converting lead's own path (all of it,
//! as on the contact level) plus every touchpoint of the account's other leads that lies in
//! the lookback window `[conversion − lookback, conversion]`. The window bounds how far
//! back a colleague's activity counts; the lead's own history is never cut, so the account
//! level equals the contact level exactly when no colleague touch lies in the window. The
//! milestones stay the converting lead's (LC is its capture, OC/CW its SQL and signing), and
//! FT is the first touch of the merged path, which may be a colleague's.
//!
//! Which colleagues count is the level's [`Scope`] ([`selected`]): every lead of the account
//! (the default, and what is precomputed), the buying committee, or the primary contact.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::touch::{Journey, Path};

/// Default lookback for colleagues' touches: one quarter, about the 84-day lead →
/// opportunity cycle of the field study (`docs/DOMAIN.md`, §Cycle lengths).
pub const DEFAULT_LOOKBACK_DAYS: u32 = 90;

/// Most colleague touchpoints an account-level path takes: the latest ones in the window.
/// Without a bound, an account with hundreds of active leads makes every conversion's path
/// (and its stored credits) grow with the account — quadratic in its size.
pub const MAX_COLLEAGUE_TOUCHES: usize = 50;

pub use leadledger_domain::account::{account_key, AccountKey, Scope};
use leadledger_domain::account::{primary_contact, PrimaryClaim};
pub use leadledger_domain::company::{is_free_mail, normalize_domain, FREE_MAIL_DOMAINS};

/// The account of a journey.
pub fn key_of(j: &Journey) -> AccountKey {
    account_key(
        &j.lead_id,
        &j.account_id,
        &j.company_domain,
        &j.email_domain,
    )
}

/// The members of one account (`members`) that `scope` selects, in their order: every one, the
/// buying committee (a role other than `NOT_INVOLVED`), or the primary contact
/// ([`leadledger_domain::account::primary_contact`]).
pub fn selected<'a>(members: &[&'a Journey], scope: Scope) -> Vec<&'a Journey> {
    if scope == Scope::AllContacts {
        return members.to_vec();
    }
    let primary = primary_contact(members.iter().map(|j| PrimaryClaim {
        lead_id: &j.lead_id,
        has_role: j.role.is_some(),
        primary_contact: j.primary_contact,
        primary_since: j.primary_since,
    }));
    members
        .iter()
        .copied()
        .filter(|j| scope.selects(j.role, primary == Some(j.lead_id.as_str())))
        .collect()
}

/// The journeys of each account, as indices into `journeys` (in their order).
pub fn group(journeys: &[Journey]) -> BTreeMap<AccountKey, Vec<usize>> {
    let mut out: BTreeMap<AccountKey, Vec<usize>> = BTreeMap::new();
    for (i, j) in journeys.iter().enumerate() {
        out.entry(key_of(j)).or_default().push(i);
    }
    out
}

/// The account-level path of `lead`'s conversion at `at`: the lead's own path plus its
/// colleagues' (`members`, which may include `lead` itself) touchpoints in
/// `[at − lookback, at]`, with `lead`'s milestones.
pub fn account_path(
    members: &[&Journey],
    lead: &Journey,
    at: DateTime<Utc>,
    lookback: Duration,
) -> Path {
    let from = at - lookback;
    let mut colleagues: Vec<&crate::Touchpoint> = members
        .iter()
        .filter(|m| m.lead_id != lead.lead_id)
        .flat_map(|m| m.path.touches.iter())
        .filter(|t| t.at >= from && t.at <= at)
        .collect();
    if colleagues.len() > MAX_COLLEAGUE_TOUCHES {
        // The most recent ones, in path order.
        colleagues.sort_by_key(|t| std::cmp::Reverse(t.order_key()));
        colleagues.truncate(MAX_COLLEAGUE_TOUCHES);
    }
    let mut touches = lead.path.touches.clone();
    touches.extend(colleagues.into_iter().cloned());
    Path::new(touches, lead.path.milestones.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadledger_domain::privacy::email_domain;

    #[test]
    fn a_large_account_contributes_only_its_latest_colleague_touches() {
        use crate::touch::{Milestones, TouchKind, Touchpoint};
        use chrono::TimeZone;
        let t0 = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
        let touch = |lead: &str, n: u128, minutes: i64| Touchpoint {
            at: t0 + Duration::minutes(minutes),
            event_id: uuid::Uuid::from_u128(n),
            lead_id: lead.into(),
            channel: format!("c{n}"),
            campaign: String::new(),
            keyword: String::new(),
            kind: TouchKind::Touch,
        };
        let me = Journey {
            lead_id: "me".into(),
            path: Path::new(vec![touch("me", 1, 0)], Milestones::default()),
            ..Default::default()
        };
        let crowd: Vec<Journey> = (0..200u128)
            .map(|i| Journey {
                lead_id: format!("x{i}"),
                path: Path::new(
                    vec![touch(&format!("x{i}"), 1000 + i, i as i64 + 1)],
                    Milestones::default(),
                ),
                ..Default::default()
            })
            .collect();
        let members: Vec<&Journey> = crowd.iter().chain([&me]).collect();
        let p = account_path(&members, &me, t0 + Duration::days(1), Duration::days(90));
        assert_eq!(p.len(), 1 + MAX_COLLEAGUE_TOUCHES);
        // The lead's own touch stays; the colleagues' are the latest 50.
        assert_eq!(p.touches[0].lead_id, "me");
        assert_eq!(p.touches[1].lead_id, "x150");
        assert_eq!(p.touches.last().unwrap().lead_id, "x199");
    }

    #[test]
    fn domains_are_normalised() {
        assert_eq!(normalize_domain(" Acme.COM "), Some("acme.com".into()));
        assert_eq!(
            normalize_domain("https://www.acme.com/about"),
            Some("acme.com".into())
        );
        assert_eq!(normalize_domain("li.lei@Acme.com"), Some("acme.com".into()));
        assert_eq!(normalize_domain("acme.com."), Some("acme.com".into()));
        assert_eq!(normalize_domain("  "), None);
        assert_eq!(normalize_domain("cn.acme.com"), Some("cn.acme.com".into()));
    }

    #[test]
    fn an_explicit_account_id_joins_leads_whatever_their_domains() {
        let j = |lead: &str, account: &str, domain: &str| Journey {
            lead_id: lead.into(),
            account_id: account.into(),
            company_domain: domain.into(),
            ..Default::default()
        };
        let journeys = [
            j("l1", "crm-7", "acme.com"),
            j("l2", "crm-7", "acme-china.cn"),
            j("l3", "", "acme.com"),
            j("l4", "crm-7", ""),
        ];
        let groups: Vec<(AccountKey, Vec<usize>)> = group(&journeys).into_iter().collect();
        assert_eq!(
            groups,
            [
                (AccountKey::Explicit("crm-7".into()), vec![0, 1, 3]),
                (AccountKey::Domain("acme.com".into()), vec![2]),
            ]
        );
    }

    #[test]
    fn company_domain_first_then_email() {
        assert_eq!(
            account_key("l1", "", "ACME.com", &email_domain("x@other.com")),
            AccountKey::Domain("acme.com".into())
        );
        assert_eq!(
            account_key("l1", "", "", &email_domain("x@Acme.com")),
            AccountKey::Domain("acme.com".into())
        );
        assert_eq!(account_key("l1", "", "", ""), AccountKey::Lead("l1".into()));
        assert_eq!(
            account_key("l1", "", "", &email_domain("alice")),
            AccountKey::Lead("l1".into())
        );
    }

    #[test]
    fn free_mail_never_forms_an_account() {
        for d in [
            "gmail.com",
            "QQ.com",
            "163.com",
            "126.com",
            "outlook.com",
            "foxmail.com",
        ] {
            assert_eq!(
                account_key("l1", "", d, ""),
                AccountKey::Lead("l1".into()),
                "{d}"
            );
            assert_eq!(
                account_key("l1", "", "", &email_domain(&format!("zhang@{d}"))),
                AccountKey::Lead("l1".into()),
                "{d}"
            );
        }
        // A free-mail company domain (a form that copied the e-mail's) falls back to a
        // corporate e-mail domain.
        assert_eq!(
            account_key("l2", "", "gmail.com", &email_domain("x@acme.com")),
            AccountKey::Domain("acme.com".into())
        );
    }
}
