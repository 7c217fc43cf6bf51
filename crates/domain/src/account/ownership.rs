//! Account-level ownership: who holds an account, and the rule that decides a claim or
//! assignment of one of its leads when another rep holds it (docs/IDENTITY.md, "Account
//! ownership").
//!
//! A lead's own owner is decided in its partition (`crate::ownership`); an account's leads
//! sit in many partitions, so nothing there orders two reps' claims on two leads of one
//! account. The account's facts are therefore filed under a key of their own
//! ([`log_key`], `~account/<account>`): the target-account list's entries
//! ([`Listing`]) and, when a rule may apply, the claims and assignments themselves
//! ([`Request`]). The projector rules on each request in that key's log order against the
//! account's [`Holding`] folded from the facts before it ([`rule`], [`Holding::list`],
//! [`Holding::after`]), so a replay rules the same. A request the account's rule lets
//! through then goes to the lead's partition as an ordinary ownership request, decided
//! against the lead.
//!
//! # Rules ([`Rule`], per tier, recorded in each request)
//! - `none`: no account rule; each lead is decided alone.
//! - `account_owner`: the account's listed owner wins: another rep's claim or assignment of
//!   any of its leads is refused, naming the owner, since when, and the rule. With nobody
//!   listed, any rep passes.
//! - `first_claim`: the first rep the account rule lets through (or the listed owner, when
//!   the listing came first) holds the account from then on; another rep is refused, as
//!   above.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::account::AccountKey;

/// Claim (a rep takes a lead nobody else owns) or assign (a manager decides): of a lead's
/// ownership request (`crate::event::OwnershipRequest`) and of an account's [`Request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OwnershipMode {
    Claim,
    Assign,
}

impl OwnershipMode {
    /// Its storage name: `claim` or `assign`.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnershipMode::Claim => "claim",
            OwnershipMode::Assign => "assign",
        }
    }

    /// From its storage name.
    pub fn parse(s: &str) -> Option<OwnershipMode> {
        match s {
            "claim" => Some(OwnershipMode::Claim),
            "assign" => Some(OwnershipMode::Assign),
            _ => None,
        }
    }
}

/// The prefix of account keys in the log; no lead id may start with `~`.
pub const KEY_PREFIX: &str = "~account/";

/// Longest tier name.
pub const MAX_TIER: usize = 32;

/// The log key (and `lead_id`) of `account`'s facts.
pub fn log_key(account: &AccountKey) -> String {
    format!("{KEY_PREFIX}{}", account.text())
}

/// The account of a log key written by [`log_key`].
pub fn account_of_key(key: &str) -> Option<&str> {
    key.strip_prefix(KEY_PREFIX)
}

/// The account a client names (`account:<id>`, `domain:<d>`, or a bare domain), if it is
/// one several leads can share.
pub fn parse_account(text: &str) -> Option<AccountKey> {
    let key = if text.contains(':') {
        AccountKey::parse(text)
    } else {
        AccountKey::parse(&format!("domain:{text}"))
    };
    key.filter(AccountKey::is_shared)
}

/// What decides a claim or assignment against an account held by another rep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    None,
    AccountOwner,
    FirstClaim,
}

impl Rule {
    /// Its configuration and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::None => "none",
            Rule::AccountOwner => "account_owner",
            Rule::FirstClaim => "first_claim",
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        [Rule::None, Rule::AccountOwner, Rule::FirstClaim]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// The proto `AccountRule` number.
    pub fn number(self) -> i32 {
        match self {
            Rule::None => 1,
            Rule::AccountOwner => 2,
            Rule::FirstClaim => 3,
        }
    }

    /// From the proto number (0, unset, is `None`).
    pub fn from_number(n: i32) -> Option<Rule> {
        match n {
            0 | 1 => Some(Rule::None),
            2 => Some(Rule::AccountOwner),
            3 => Some(Rule::FirstClaim),
            _ => None,
        }
    }
}

/// The rule of each tier, and of every other account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub by_tier: BTreeMap<String, Rule>,
    pub default: Rule,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            by_tier: BTreeMap::new(),
            default: Rule::None,
        }
    }
}

impl Rules {
    /// The rule for an account of `tier` ("" for an account on no list).
    pub fn of(&self, tier: &str) -> Rule {
        self.by_tier.get(tier).copied().unwrap_or(self.default)
    }

    /// Whether some account could be ruled on (else no request needs its account's key).
    pub fn any(&self) -> bool {
        self.default != Rule::None || self.by_tier.values().any(|r| *r != Rule::None)
    }
}

/// A `TargetAccountListed` fact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The account as the client named it (its key's text once filed).
    pub account: String,
    pub name: String,
    pub tier: String,
    pub owner_rep_id: String,
    pub owner_team: String,
    pub delisted: bool,
}

/// An `AccountOwnershipRequested` intent: a claim or assignment of one of the account's
/// leads, with the rules in force when it was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub lead: String,
    pub mode: OwnershipMode,
    pub rep_id: String,
    pub team: String,
    pub requested_by: String,
    pub rules: Rules,
}

/// How a holder came to hold the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeldBy {
    /// Named owner by the target-account list.
    Listing,
    /// The first rep the `first_claim` rule let through.
    FirstClaim,
}

impl HeldBy {
    pub fn as_str(self) -> &'static str {
        match self {
            HeldBy::Listing => "listing",
            HeldBy::FirstClaim => "first_claim",
        }
    }

    pub fn parse(s: &str) -> Option<HeldBy> {
        match s {
            "listing" => Some(HeldBy::Listing),
            "first_claim" => Some(HeldBy::FirstClaim),
            _ => None,
        }
    }
}

/// `at` as the store keeps it (microseconds): a holding lives on across batches in the
/// database, so a ruling reads the same holder's `since` whether the holding came from the
/// same batch or was stored before it (a replay batches differently).
fn stored_precision(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// The rep who holds an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub rep_id: String,
    pub team: String,
    pub since: DateTime<Utc>,
    pub by: HeldBy,
}

/// An account's ownership as its facts so far leave it (in its key's log order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// Its tier on the target-account list; "" when not listed.
    pub tier: String,
    /// Its name on the list.
    pub name: String,
    pub holder: Option<Holder>,
}

/// What the account's rule says of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    pub allowed: bool,
    /// The rule applied (the account's tier's, as the request recorded the rules).
    pub rule: Rule,
    /// The account's tier then.
    pub tier: String,
    /// Who held the account just before the request.
    pub holder: Option<Holder>,
    /// Why, in words a rep can act on.
    pub reason: String,
}

impl Holding {
    /// The holding after a listing made at `at`: tier and name replaced; a named owner
    /// becomes the holder (since `at`, unless the same rep held it already); a listing
    /// naming nobody, or a delisting, takes a listed holder away (a holder by first claim
    /// stays: the list said nothing of them).
    pub fn list(&mut self, l: &Listing, at: DateTime<Utc>) {
        if l.delisted {
            self.tier.clear();
            self.name.clear();
        } else {
            self.tier.clone_from(&l.tier);
            self.name.clone_from(&l.name);
        }
        let owner = (!l.delisted && !l.owner_rep_id.is_empty()).then_some(&l.owner_rep_id);
        match (owner, &self.holder) {
            (Some(rep), Some(h)) if h.rep_id == *rep => {
                let h = self.holder.as_mut().expect("matched");
                h.by = HeldBy::Listing;
                h.team.clone_from(&l.owner_team);
            }
            (Some(rep), _) => {
                self.holder = Some(Holder {
                    rep_id: rep.clone(),
                    team: l.owner_team.clone(),
                    since: stored_precision(at),
                    by: HeldBy::Listing,
                });
            }
            (None, Some(h)) if h.by == HeldBy::Listing => self.holder = None,
            (None, _) => {}
        }
    }

    /// The holding after `ruling` on `req`, asked at `at`: the first rep the `first_claim`
    /// rule lets through holds the account.
    pub fn after(&mut self, req: &Request, ruling: &Ruling, at: DateTime<Utc>) {
        if ruling.allowed && ruling.rule == Rule::FirstClaim && self.holder.is_none() {
            self.holder = Some(Holder {
                rep_id: req.rep_id.clone(),
                team: req.team.clone(),
                since: stored_precision(at),
                by: HeldBy::FirstClaim,
            });
        }
    }
}

/// Who owns the account as `rule` sees it: under `account_owner` only a listed holder
/// (the list names the owner; a holder by first claim is nobody's owner there), under
/// `first_claim` any holder, under `none` nobody.
pub fn owner_under(rule: Rule, holder: Option<&Holder>) -> Option<&Holder> {
    match rule {
        Rule::None => None,
        Rule::AccountOwner => holder.filter(|h| h.by == HeldBy::Listing),
        Rule::FirstClaim => holder,
    }
}

/// Rules on `req` against the account's holding just before it in its key's log order.
pub fn rule(account: &str, holding: &Holding, req: &Request) -> Ruling {
    let rule = req.rules.of(&holding.tier);
    let owner = owner_under(rule, holding.holder.as_ref());
    let tier_words = if holding.tier.is_empty() {
        "an account on no target list".to_string()
    } else {
        format!("a `{}` account", holding.tier)
    };
    let (allowed, reason) = match (rule, owner) {
        (Rule::None, _) => (
            true,
            format!("no account rule for {tier_words}: the lead is decided alone"),
        ),
        (_, Some(h)) if h.rep_id != req.rep_id => (
            false,
            format!(
                "account {account} ({tier_words}) is owned by rep `{}` since {} (by {}), and \
                 rule `{}` gives its leads to its owner",
                h.rep_id,
                h.since.to_rfc3339(),
                h.by.as_str(),
                rule.as_str()
            ),
        ),
        (_, Some(_)) => (true, format!("rep `{}` owns account {account}", req.rep_id)),
        (Rule::FirstClaim, None) => (
            true,
            format!(
                "account {account} had no owner: rep `{}` holds it from now (rule \
                 first_claim)",
                req.rep_id
            ),
        ),
        (Rule::AccountOwner, None) => (
            true,
            format!("account {account} has no listed owner (rule account_owner)"),
        ),
    };
    Ruling {
        allowed,
        rule,
        tier: holding.tier.clone(),
        holder: holding.holder.clone(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 4, 9, min, 0).unwrap()
    }

    fn rules() -> Rules {
        Rules {
            by_tier: BTreeMap::from([
                ("KA".to_string(), Rule::AccountOwner),
                ("SMB".to_string(), Rule::FirstClaim),
            ]),
            default: Rule::None,
        }
    }

    fn req(rep: &str) -> Request {
        Request {
            lead: "l1".into(),
            mode: OwnershipMode::Claim,
            rep_id: rep.into(),
            team: "east".into(),
            requested_by: rep.into(),
            rules: rules(),
        }
    }

    fn listing(tier: &str, owner: &str) -> Listing {
        Listing {
            account: "domain:acme.com".into(),
            name: "Acme".into(),
            tier: tier.into(),
            owner_rep_id: owner.into(),
            owner_team: "ka-team".into(),
            delisted: false,
        }
    }

    /// Rules on each request in order, as the projector does.
    fn run(h: &mut Holding, reqs: &[(&str, u32)]) -> Vec<Ruling> {
        reqs.iter()
            .map(|(rep, min)| {
                let r = req(rep);
                let ruling = rule("domain:acme.com", h, &r);
                h.after(&r, &ruling, at(*min));
                ruling
            })
            .collect()
    }

    #[test]
    fn key_accounts_go_to_their_listed_owner() {
        let mut h = Holding::default();
        h.list(&listing("KA", "ann"), at(0));
        let r = run(&mut h, &[("bob", 1), ("ann", 2)]);
        assert!(!r[0].allowed);
        assert_eq!(r[0].rule, Rule::AccountOwner);
        assert_eq!(r[0].holder.as_ref().unwrap().rep_id, "ann");
        assert_eq!(r[0].holder.as_ref().unwrap().since, at(0));
        for w in ["`ann`", "account_owner", "2026-05-04T09:00:00"] {
            assert!(r[0].reason.contains(w), "{w} in {}", r[0].reason);
        }
        assert!(r[1].allowed, "{}", r[1].reason);
        // A key account with nobody listed lets anyone through, and nobody comes to hold it.
        let mut h = Holding::default();
        h.list(&listing("KA", ""), at(0));
        let r = run(&mut h, &[("bob", 1), ("cat", 2)]);
        assert!(r.iter().all(|r| r.allowed));
        assert_eq!(h.holder, None);
    }

    #[test]
    fn under_first_claim_the_first_rep_let_through_holds_the_account() {
        let mut h = Holding::default();
        h.list(&listing("SMB", ""), at(0));
        let r = run(&mut h, &[("bob", 1), ("cat", 2), ("bob", 3)]);
        assert!(r[0].allowed && !r[1].allowed && r[2].allowed);
        let holder = h.holder.clone().unwrap();
        assert_eq!(
            (holder.rep_id.as_str(), holder.since, holder.by),
            ("bob", at(1), HeldBy::FirstClaim)
        );
        assert!(r[1].reason.contains("first_claim"), "{}", r[1].reason);
        // A listing that came first makes its owner the first.
        let mut h = Holding::default();
        h.list(&listing("SMB", "ann"), at(0));
        let r = run(&mut h, &[("bob", 1)]);
        assert!(!r[0].allowed);
    }

    #[test]
    fn under_account_owner_a_holder_by_first_claim_owns_nothing() {
        let mut h = Holding::default();
        h.list(&listing("SMB", ""), at(0));
        run(&mut h, &[("bob", 1)]);
        h.list(&listing("KA", ""), at(2));
        assert_eq!(h.holder.as_ref().unwrap().by, HeldBy::FirstClaim);
        let r = run(&mut h, &[("cat", 3)]);
        assert!(r[0].allowed, "{}", r[0].reason);
    }

    #[test]
    fn an_account_on_no_list_takes_the_default_rule() {
        let mut h = Holding::default();
        let r = run(&mut h, &[("bob", 1), ("cat", 2)]);
        assert!(r.iter().all(|r| r.allowed && r.rule == Rule::None));
        let mut rules = rules();
        rules.default = Rule::FirstClaim;
        let mut r2 = req("bob");
        r2.rules = rules.clone();
        let first = rule("a", &h, &r2);
        h.after(&r2, &first, at(3));
        let mut r3 = req("cat");
        r3.rules = rules;
        assert!(!rule("a", &h, &r3).allowed);
    }

    #[test]
    fn listings_replace_and_delistings_take_only_a_listed_holder_away() {
        let mut h = Holding::default();
        h.list(&listing("KA", "ann"), at(0));
        h.list(&listing("KA", "ann"), at(5));
        assert_eq!(
            h.holder.as_ref().unwrap().since,
            at(0),
            "the same owner keeps since"
        );
        h.list(&listing("KA", "dan"), at(6));
        assert_eq!(h.holder.as_ref().unwrap().rep_id, "dan");
        assert_eq!(h.holder.as_ref().unwrap().since, at(6));
        h.list(
            &Listing {
                delisted: true,
                ..listing("", "")
            },
            at(7),
        );
        assert_eq!(h, Holding::default());
        // A holder by first claim outlives a listing that names nobody.
        h.list(&listing("SMB", ""), at(8));
        run(&mut h, &[("bob", 9)]);
        h.list(&listing("SMB", ""), at(10));
        assert_eq!(h.holder.as_ref().unwrap().rep_id, "bob");
    }

    #[test]
    fn since_is_kept_as_the_store_keeps_it() {
        let at = Utc.timestamp_opt(1_780_000_000, 123_456_789).unwrap();
        let mut h = Holding::default();
        h.list(&listing("KA", "ann"), at);
        assert_eq!(
            h.holder.unwrap().since.timestamp_subsec_nanos(),
            123_456_000
        );
    }

    #[test]
    fn accounts_are_named_as_leads_name_them() {
        assert_eq!(
            parse_account("www.Acme.com").map(|k| log_key(&k)),
            Some("~account/domain:acme.com".into())
        );
        assert_eq!(
            parse_account("account:0015").map(|k| k.text()),
            Some("account:0015".into())
        );
        assert_eq!(parse_account("gmail.com"), None);
        assert_eq!(parse_account("lead:l1"), None);
        assert_eq!(parse_account("nope:x"), None);
        assert_eq!(account_of_key("~account/domain:a.io"), Some("domain:a.io"));
        for r in [Rule::None, Rule::AccountOwner, Rule::FirstClaim] {
            assert_eq!(Rule::parse(r.as_str()), Some(r));
            assert_eq!(Rule::from_number(r.number()), Some(r));
        }
        assert_eq!(Rule::from_number(0), Some(Rule::None));
        assert_eq!(Rule::from_number(9), None);
    }
}
