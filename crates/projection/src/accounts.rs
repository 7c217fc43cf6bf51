//! The batch's account facts (`~account/…` keys): target-account listings, the account
//! rulings on claims and assignments, coverage by role and renewal dates, applied in each
//! key's log order (the holding, each coverage slot and each contract's renewal: the last
//! fact in that order stands) (the rules are the domain's, [`leadledger_domain::account::ownership`]). A key's
//! facts share a partition, so `(partition, offset)` order is its log order, and a replay
//! in any batching leaves the same holdings and rulings.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SubsecRound, Utc};
use leadledger_domain::account::coverage::{CoverageRole, RenewalScheduled};
use leadledger_domain::account::ownership::{self, Holder, Holding, Rule};
use leadledger_domain::Payload;
use uuid::Uuid;

use crate::Logged;

/// An account of a tenant: `(tenant, account key text)`.
pub type AccountId = (String, String);

/// One row of `account_rulings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulingRow {
    pub intent_id: Uuid,
    pub tenant: String,
    pub account: String,
    pub lead: String,
    pub partition: i32,
    pub offset: i64,
    /// `claim` or `assign`.
    pub mode: &'static str,
    pub rep_id: String,
    pub team: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub tier: String,
    pub rule: Rule,
    pub allowed: bool,
    /// Who held the account just before.
    pub holder: Option<Holder>,
    pub reason: String,
}

/// A coverage slot: `(tenant, account, role, rep)`.
pub type SlotId = (String, String, CoverageRole, String);

/// A contract's renewal: `(tenant, account, contract)`.
pub type ContractId = (String, String, String);

/// What the batch's account facts leave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountRows {
    /// New rulings, in log order.
    pub rulings: Vec<RulingRow>,
    /// The holdings the batch changed, after it, in key order.
    pub holdings: Vec<(AccountId, Holding)>,
    /// The coverage slots the batch set, in key order: since when (the latest assignment's
    /// time), or `None` for a slot taken away.
    pub coverage: Vec<(SlotId, Option<DateTime<Utc>>)>,
    /// The renewals the batch scheduled, in key order: the latest per contract.
    pub renewals: Vec<(ContractId, RenewalScheduled, DateTime<Utc>)>,
}

/// The accounts `new` holds facts of (whose stored holdings the batch needs).
pub fn accounts_of<'a>(new: impl IntoIterator<Item = &'a Logged>) -> BTreeSet<AccountId> {
    new.into_iter()
        .filter(|r| r.event.payload.is_account())
        .filter_map(|r| {
            ownership::account_of_key(&r.event.lead_id)
                .map(|a| (r.event.tenant_id.clone(), a.to_string()))
        })
        .collect()
}

/// Applies the account facts among `new` in log order to `holdings` (the stored ones of
/// [`accounts_of`]; an account missing there holds nothing yet).
pub fn apply(new: &[&Logged], holdings: &mut BTreeMap<AccountId, Holding>) -> AccountRows {
    let mut facts: Vec<&Logged> = new
        .iter()
        .copied()
        .filter(|r| r.event.payload.is_account())
        .collect();
    facts.sort_by_key(|r| (r.partition, r.offset));
    let mut out = AccountRows::default();
    let mut changed = BTreeSet::new();
    let mut coverage = BTreeMap::new();
    let mut renewals = BTreeMap::new();
    for r in facts {
        let e = &r.event;
        let Some(account) = ownership::account_of_key(&e.lead_id) else {
            continue;
        };
        let id = (e.tenant_id.clone(), account.to_string());
        let holding = holdings.entry(id.clone()).or_default();
        match &e.payload {
            Payload::TargetAccountListed(l) => {
                holding.list(l, e.occurred_at);
                changed.insert(id);
            }
            Payload::AccountOwnershipRequested(req) => {
                let ruling = ownership::rule(account, holding, req);
                let before = holding.clone();
                holding.after(req, &ruling, e.occurred_at);
                if *holding != before {
                    changed.insert(id);
                }
                out.rulings.push(RulingRow {
                    intent_id: e.event_id,
                    tenant: e.tenant_id.clone(),
                    account: account.to_string(),
                    lead: req.lead.clone(),
                    partition: r.partition,
                    offset: r.offset,
                    mode: req.mode.as_str(),
                    rep_id: req.rep_id.clone(),
                    team: req.team.clone(),
                    requested_by: req.requested_by.clone(),
                    requested_at: e.occurred_at,
                    tier: ruling.tier,
                    rule: ruling.rule,
                    allowed: ruling.allowed,
                    holder: ruling.holder,
                    reason: ruling.reason,
                });
            }
            Payload::AccountCoverageAssigned(c) => {
                // A role this reader does not know (a newer writer's) is left alone.
                if let Some(role) = CoverageRole::from_number(c.role) {
                    let slot = (id.0, id.1, role, c.rep_id.clone());
                    let since = (!c.removed).then(|| e.occurred_at.trunc_subsecs(6));
                    coverage.insert(slot, since);
                }
            }
            Payload::RenewalScheduled(r) => {
                let contract = (id.0, id.1, r.contract_id.clone());
                renewals.insert(contract, (r.clone(), e.occurred_at.trunc_subsecs(6)));
            }
            _ => {}
        }
    }
    out.coverage = coverage.into_iter().collect();
    out.renewals = renewals
        .into_iter()
        .map(|(k, (r, at))| (k, r, at))
        .collect();
    out.holdings = changed
        .into_iter()
        .map(|id| {
            let h = holdings.get(&id).cloned().unwrap_or_default();
            (id, h)
        })
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use leadledger_domain::account::ownership::{Listing, Request, Rules};
    use leadledger_domain::event::SourceRef;
    use leadledger_domain::Event;

    use super::*;

    fn logged(offset: i64, key: &str, payload: Payload) -> Logged {
        let at =
            Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap() + chrono::Duration::minutes(offset);
        Logged {
            partition: 0,
            offset,
            event: Event {
                event_id: Uuid::from_u128(offset as u128 + 1),
                tenant_id: "t".into(),
                lead_id: key.into(),
                occurred_at: at,
                recorded_at: at,
                source: SourceRef::default(),
                schema_version: 1,
                payload,
            },
        }
    }

    fn claim(lead: &str, rep: &str) -> Payload {
        Payload::AccountOwnershipRequested(Request {
            lead: lead.into(),
            mode: leadledger_domain::event::OwnershipMode::Claim,
            rep_id: rep.into(),
            team: String::new(),
            requested_by: rep.into(),
            rules: Rules {
                by_tier: [("SMB".to_string(), Rule::FirstClaim)].into(),
                default: Rule::None,
            },
        })
    }

    fn covered(rep: &str, removed: bool) -> Payload {
        Payload::AccountCoverageAssigned(leadledger_domain::account::coverage::CoverageAssigned {
            account: "acme.com".into(),
            role: CoverageRole::Service.number(),
            rep_id: rep.into(),
            removed,
        })
    }

    fn renewal(contract: &str, month: u32) -> Payload {
        Payload::RenewalScheduled(RenewalScheduled {
            account: "acme.com".into(),
            contract_id: contract.into(),
            renews_on: chrono::NaiveDate::from_ymd_opt(2027, month, 1).unwrap(),
            amount_minor: 0,
            currency: String::new(),
        })
    }

    fn listed(tier: &str) -> Payload {
        Payload::TargetAccountListed(Listing {
            account: "acme.com".into(),
            tier: tier.into(),
            ..Listing::default()
        })
    }

    #[test]
    fn any_batching_rules_the_same_in_log_order() {
        let k = "~account/domain:acme.com";
        let log = [
            logged(0, k, claim("l1", "bob")),
            logged(1, k, listed("SMB")),
            logged(2, k, claim("l2", "cat")),
            logged(3, k, claim("l3", "dan")),
            logged(
                4,
                "l9",
                Payload::Unknown {
                    event_type: "x".into(),
                },
            ),
            logged(5, k, covered("ann", false)),
            logged(6, k, covered("bob", false)),
            logged(7, k, covered("ann", true)),
            logged(8, k, renewal("C-1", 3)),
            logged(9, k, renewal("C-1", 4)),
        ];
        // Shuffled within the batch: the offsets order them.
        let all: Vec<&Logged> = log.iter().rev().collect();
        let mut h = BTreeMap::new();
        let one = apply(&all, &mut h);
        assert_eq!(
            one.rulings.iter().map(|r| r.allowed).collect::<Vec<_>>(),
            [true, true, false],
            "no tier yet: no rule; then cat is first in the SMB account"
        );
        assert_eq!(one.rulings[0].rule, Rule::None);
        assert_eq!(one.rulings[2].holder.as_ref().unwrap().rep_id, "cat");
        let mut h2 = BTreeMap::new();
        let mut rulings = Vec::new();
        // Batches of two: the slots and contracts each batch leaves, latest batch last.
        let mut coverage = BTreeMap::new();
        let mut renewals = BTreeMap::new();
        for chunk in log.chunks(2) {
            let refs: Vec<&Logged> = chunk.iter().collect();
            let rows = apply(&refs, &mut h2);
            rulings.extend(rows.rulings);
            coverage.extend(rows.coverage);
            renewals.extend(rows.renewals.into_iter().map(|(k, r, at)| (k, (r, at))));
        }
        let coverage: Vec<_> = coverage.into_iter().collect();
        let renewals: Vec<_> = renewals
            .into_iter()
            .map(|(k, (r, at))| (k, r, at))
            .collect();
        assert_eq!(rulings, one.rulings);
        assert_eq!(h, h2);
        assert_eq!(
            (coverage, renewals),
            (one.coverage.clone(), one.renewals.clone())
        );
        // The last fact of each slot and contract stands.
        assert_eq!(
            one.coverage
                .iter()
                .map(|((_, _, role, rep), since)| (*role, rep.as_str(), since.is_some()))
                .collect::<Vec<_>>(),
            [
                (CoverageRole::Service, "ann", false),
                (CoverageRole::Service, "bob", true)
            ]
        );
        assert_eq!(one.renewals.len(), 1);
        assert_eq!(one.renewals[0].1.renews_on.format("%m").to_string(), "04");
        assert_eq!(
            one.holdings
                .iter()
                .map(|(id, _)| id.1.as_str())
                .collect::<Vec<_>>(),
            ["domain:acme.com"]
        );
        assert_eq!(
            accounts_of(all.iter().copied())
                .into_iter()
                .collect::<Vec<_>>(),
            [("t".to_string(), "domain:acme.com".to_string())]
        );
    }
}
