//! The funnel at account level: accounts, not leads, counted at each main-line stage, with
//! the contacts that stand for each account chosen by a [`Scope`] (docs/ANALYTICS.md,
//! "Account-level funnel").
//!
//! For each account, the **selected members** are its leads the scope selects (every lead,
//! the buying committee, or the primary contact alone). An account with none is left out
//! (and counted apart). Otherwise the account
//! - is **captured** when its earliest-captured selected member was (a member never captured
//!   sorts last), and is in the period by that date;
//! - **reached** a stage when any selected member reached it or a later one;
//! - **signed** the selected members' signed amounts, summed per currency, with what was
//!   collected on them;
//! - is **grouped** by the dimension values of its earliest-captured selected member (ties:
//!   the smallest lead id), the member that opened the account.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadledger_domain::account::{primary_contact, ContactRole, PrimaryClaim, Scope};

/// One lead as the account funnel reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its account key (`leadledger_domain::account::AccountKey::text`).
    pub account: String,
    pub lead_id: String,
    pub captured_at: Option<DateTime<Utc>>,
    /// Furthest main-line stage: 1 captured … 5 signed.
    pub max_rank: u8,
    /// Its latest role (`None`: none, or one this reader does not know).
    pub role: Option<ContactRole>,
    pub primary_contact: bool,
    pub primary_since: Option<DateTime<Utc>>,
    /// Its group-key values, one per dimension asked.
    pub key: Vec<String>,
    /// When signed: the contract's currency, amount and what was collected, minor units.
    pub signed: Option<(String, i64, i64)>,
}

/// One group of accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    pub key: Vec<String>,
    /// Accounts that reached captured, MQL, SQL, POC, signed (or a later main-line stage).
    pub reached: [i64; 5],
    /// Per currency: signed selected members, their signed amount, their collected amount.
    pub signed: BTreeMap<String, [i64; 3]>,
}

/// The account funnel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Funnel {
    /// Groups by key.
    pub groups: Vec<Group>,
    /// Accounts with leads captured in the period but no member the scope selects (no role
    /// assigned, or no primary contact).
    pub left_out: i64,
}

/// Whether `captured_at` lies in `[from, to)`; a lead never captured is in an unbounded
/// period only (as the lead funnel counts it).
pub fn in_window(
    captured_at: Option<DateTime<Utc>>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> bool {
    match captured_at {
        None => from.is_none() && to.is_none(),
        Some(t) => from.is_none_or(|f| t >= f) && to.is_none_or(|u| t < u),
    }
}

/// The funnel of the accounts of `members` (every lead of the tenant, in any order) whose
/// selected members were first captured in `[from, to)`.
pub fn funnel(
    members: Vec<Member>,
    scope: Scope,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Funnel {
    let mut accounts: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    for m in members {
        accounts.entry(m.account.clone()).or_default().push(m);
    }
    let mut counter = Counter::new(scope, from, to);
    for members in accounts.values() {
        counter.add(members);
    }
    counter.finish()
}

/// The member that opened an account among `members`: the earliest captured (never-captured
/// members last), ties by lead id.
fn opener<'a>(members: impl Iterator<Item = &'a Member>) -> Option<&'a Member> {
    members.min_by(|a, b| {
        (a.captured_at.is_none(), a.captured_at, &a.lead_id).cmp(&(
            b.captured_at.is_none(),
            b.captured_at,
            &b.lead_id,
        ))
    })
}

/// The account funnel counted one account at a time (a reader streaming the leads ordered
/// by account keeps one account in memory, not the tenant).
#[derive(Debug, Clone)]
pub struct Counter {
    scope: Scope,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    groups: BTreeMap<Vec<String>, Group>,
    left_out: i64,
}

impl Counter {
    pub fn new(scope: Scope, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Self {
        Counter {
            scope,
            from,
            to,
            groups: BTreeMap::new(),
            left_out: 0,
        }
    }

    /// Counts one account: `members` are all its leads (each account once).
    pub fn add(&mut self, members: &[Member]) {
        let primary = primary_contact(members.iter().map(|m| PrimaryClaim {
            lead_id: &m.lead_id,
            has_role: m.role.is_some(),
            primary_contact: m.primary_contact,
            primary_since: m.primary_since,
        }));
        let selected: Vec<&Member> = members
            .iter()
            .filter(|m| {
                self.scope
                    .selects(m.role, primary == Some(m.lead_id.as_str()))
            })
            .collect();
        let Some(first) = opener(selected.iter().copied()) else {
            if members
                .iter()
                .any(|m| in_window(m.captured_at, self.from, self.to))
            {
                self.left_out += 1;
            }
            return;
        };
        if !in_window(first.captured_at, self.from, self.to) {
            return;
        }
        let g = self
            .groups
            .entry(first.key.clone())
            .or_insert_with(|| Group {
                key: first.key.clone(),
                ..Group::default()
            });
        let rank = selected.iter().map(|m| m.max_rank).max().unwrap_or(0);
        g.reached[0] += 1;
        for (r, n) in (2..=5u8).zip(g.reached.iter_mut().skip(1)) {
            *n += i64::from(rank >= r);
        }
        for (currency, amount, collected) in selected.iter().filter_map(|m| m.signed.as_ref()) {
            let t = g.signed.entry(currency.clone()).or_default();
            t[0] += 1;
            t[1] += amount;
            t[2] += collected;
        }
    }

    /// The groups by key, and the accounts left out.
    pub fn finish(self) -> Funnel {
        Funnel {
            groups: self.groups.into_values().collect(),
            left_out: self.left_out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use ContactRole::*;

    fn day(d: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(2026, 5, d, 9, 0, 0).unwrap())
    }

    /// A lead of `account` captured on `captured` (a May day), with `channel` as its key.
    fn m(account: &str, lead: &str, captured: u32, rank: u8, channel: &str) -> Member {
        Member {
            account: account.into(),
            lead_id: lead.into(),
            captured_at: day(captured),
            max_rank: rank,
            role: None,
            primary_contact: false,
            primary_since: None,
            key: vec![channel.into()],
            signed: (rank >= 5).then(|| ("CNY".to_string(), 10_000, 4_000)),
        }
    }

    fn role(mut m: Member, r: ContactRole, primary_on: Option<u32>) -> Member {
        m.role = Some(r);
        m.primary_contact = primary_on.is_some();
        m.primary_since = primary_on.and_then(day);
        m
    }

    /// Acme: Li (webinar, day 2, MQL, not involved), Wang (seo, day 5, signed, decision
    /// maker, primary), Zhao (event, day 9, SQL, no role). Globex: Chen (ads, day 3, POC,
    /// champion). Zhang (free mail, own account, day 4, captured, no role).
    fn tenant() -> Vec<Member> {
        vec![
            role(
                m("domain:acme.com", "li", 2, 2, "webinar"),
                NotInvolved,
                None,
            ),
            role(
                m("domain:acme.com", "wang", 5, 5, "seo"),
                DecisionMaker,
                Some(6),
            ),
            m("domain:acme.com", "zhao", 9, 3, "event"),
            role(m("domain:globex.com", "chen", 3, 4, "ads"), Champion, None),
            m("lead:zhang", "zhang", 4, 1, "webinar"),
        ]
    }

    fn counts(f: &Funnel) -> Vec<(String, [i64; 5])> {
        f.groups
            .iter()
            .map(|g| (g.key.join("/"), g.reached))
            .collect()
    }

    #[test]
    fn every_contact_stands_for_its_account() {
        let f = funnel(tenant(), Scope::AllContacts, None, None);
        assert_eq!(
            counts(&f),
            [
                ("ads".to_string(), [1, 1, 1, 1, 0]),
                // Acme opened by Li's webinar, signed by Wang; Zhang alone.
                ("webinar".to_string(), [2, 1, 1, 1, 1]),
            ]
        );
        assert_eq!(f.left_out, 0);
        assert_eq!(f.groups[1].signed["CNY"], [1, 10_000, 4_000]);
    }

    #[test]
    fn the_committee_leaves_out_who_is_not_involved_and_accounts_without_roles() {
        let f = funnel(tenant(), Scope::Committee, None, None);
        // Acme now opened by Wang (seo): Li is not involved, Zhao holds no role.
        assert_eq!(
            counts(&f),
            [
                ("ads".to_string(), [1, 1, 1, 1, 0]),
                ("seo".to_string(), [1, 1, 1, 1, 1])
            ]
        );
        assert_eq!(f.left_out, 1, "Zhang's account has no committee");
    }

    #[test]
    fn the_primary_contact_alone() {
        let f = funnel(tenant(), Scope::PrimaryContact, None, None);
        assert_eq!(counts(&f), [("seo".to_string(), [1, 1, 1, 1, 1])]);
        assert_eq!(f.left_out, 2);
    }

    #[test]
    fn the_period_is_the_openers_capture() {
        // Acme's first capture (Li, day 2) is before the period: with every contact it is
        // out, even though Wang and Zhao were captured in it.
        let f = funnel(tenant(), Scope::AllContacts, day(3), day(10));
        assert_eq!(
            counts(&f),
            [
                ("ads".to_string(), [1, 1, 1, 1, 0]),
                ("webinar".to_string(), [1, 0, 0, 0, 0])
            ]
        );
        // The committee's opener is Wang (day 5): in.
        let f = funnel(tenant(), Scope::Committee, day(3), day(10));
        assert_eq!(counts(&f).len(), 2);
        assert_eq!(f.left_out, 1);
        // Left out counts the accounts with a lead captured in the period and no selected
        // contact: Acme has its primary Wang (captured before the period: out, not left out).
        let f = funnel(tenant(), Scope::PrimaryContact, day(6), None);
        assert_eq!((counts(&f).len(), f.left_out), (0, 0));
        let mut t = tenant();
        t[1].role = None; // Wang off the committee: Acme has none, and Zhao came on day 9.
        let f = funnel(t, Scope::Committee, day(6), None);
        assert_eq!((counts(&f).len(), f.left_out), (0, 1));
    }

    #[test]
    fn a_withdrawn_primary_leaves_the_account_without_one() {
        let mut t = tenant();
        t[1].primary_contact = false; // Wang's latest assignment no longer says primary.
        let f = funnel(t, Scope::PrimaryContact, None, None);
        assert!(f.groups.is_empty());
        assert_eq!(f.left_out, 3);
    }

    #[test]
    fn never_captured_members_open_an_account_last() {
        let mut t = tenant();
        t[0].captured_at = None;
        let f = funnel(t.clone(), Scope::AllContacts, None, None);
        // Acme is opened by Wang now.
        assert_eq!(counts(&f)[1], ("seo".to_string(), [1, 1, 1, 1, 1]));
        // An account never captured counts only in an unbounded period.
        let only = vec![t.remove(0)];
        assert_eq!(
            funnel(only.clone(), Scope::AllContacts, None, None)
                .groups
                .len(),
            1
        );
        assert!(funnel(only, Scope::AllContacts, day(1), None)
            .groups
            .is_empty());
    }
}
