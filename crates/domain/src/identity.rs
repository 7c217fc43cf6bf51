//! Who is who: leads merged into a survivor, and split off again.
//!
//! Two leads of one person count twice in every funnel and split their touches between two
//! attribution paths. A merge makes them one timeline: every read model folds the survivor
//! and the leads merged into it as one lead (the survivor's id). An unmerge gives a merged
//! lead its own timeline back, exactly as if it had never been merged.
//!
//! A merge crosses partitions (each lead's facts sit on its own), so it is decided like an
//! ownership request, in log order, but in the order of the tenant's identity facts: the
//! `MergeRequested`/`UnmergeRequested` intents are filed under one key, [`KEY`], so they
//! share a partition, and [`Merges::decide`] rules on each against the merges decided
//! before it — never against lead facts of other partitions. So a replay decides the same.
//!
//! Merges are one level deep: a survivor is no merged lead, and a merged lead has nothing
//! merged into it. A request that would break this is refused, naming the lead to use.
//!
//! [`matching`] holds the duplicate rules (which leads are likely one person),
//! [`auto_merge`] the merges a configured rule asks for, and [`visitor`] the anonymous
//! visitors whose touches a link attaches to a lead.

pub mod auto_merge;
pub mod matching;
pub mod visitor;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The log key (and `lead_id`) of identity intents: one per tenant, so each tenant's merges
/// are decided in one order. No lead id may start with `~`.
pub const KEY: &str = "~identity";

/// The source system of identity intents (the RPCs' and the auto-merge worker's): with the
/// request id it makes the intent's id.
pub const SOURCE_SYSTEM: &str = "leadledger.identity";

/// Who asks for the merges of an auto-merge rule (`MergeRequest::requested_by`).
pub const AUTO_MERGE_BY: &str = "leadledger.auto_merge";

/// The most leads one merge request may merge into its survivor.
pub const MAX_MERGED: usize = 100;

/// A request to merge leads into a survivor (written by `IdentityService.MergeLeads`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRequest {
    /// The lead that stays: the merged timeline is read under its id.
    pub survivor: String,
    /// The leads merged into it (distinct, none the survivor).
    pub merged: Vec<String>,
    /// Why (e.g. "same e-mail", or a duplicate rule's name).
    pub reason: String,
    /// Who asked (a user, or the rule).
    pub requested_by: String,
}

/// A request to split a merged lead off its survivor again (`IdentityService.UnmergeLead`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmergeRequest {
    /// The merged lead that gets its own timeline back.
    pub lead: String,
    pub reason: String,
    pub requested_by: String,
}

/// What a granted identity request changed: `(lead, survivor before, survivor after)` for
/// every lead whose survivor changed (`None`: the lead is its own).
pub type Moves = Vec<(String, Option<String>, Option<String>)>;

/// One tenant's live merges (merged lead → its survivor), and the pairs a person split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merges {
    into: BTreeMap<String, String>,
    /// `(lead, survivor)` of every granted unmerge, the smaller id first: two leads someone
    /// said are two people. An auto-merge rule never joins them again.
    separated: BTreeSet<(String, String)>,
}

/// A pair in id order.
fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

impl Merges {
    /// The merges `(merged lead, survivor)` as stored.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Merges {
            into: pairs.into_iter().collect(),
            separated: BTreeSet::new(),
        }
    }

    /// With the `(lead, survivor)` pairs of the unmerges granted before.
    pub fn with_separations(mut self, pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        self.separated
            .extend(pairs.into_iter().map(|(a, b)| pair(&a, &b)));
        self
    }

    /// Whether an unmerge split `a` from `b`.
    pub fn separated(&self, a: &str, b: &str) -> bool {
        self.separated.contains(&pair(a, b))
    }

    /// The survivor `lead` is merged into, if any.
    pub fn survivor_of(&self, lead: &str) -> Option<&str> {
        self.into.get(lead).map(String::as_str)
    }

    /// The lead whose timeline holds `lead`'s facts: its survivor, or itself.
    pub fn root<'a>(&'a self, lead: &'a str) -> &'a str {
        self.survivor_of(lead).unwrap_or(lead)
    }

    /// The leads merged into `survivor`, in id order.
    pub fn merged_into<'a>(&'a self, survivor: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.into
            .iter()
            .filter(move |(_, s)| s.as_str() == survivor)
            .map(|(m, _)| m.as_str())
    }

    /// Decides a merge against the merges before it: `Ok` with the moves it makes (and
    /// applies them), or `Err` with why it is refused (and changes nothing).
    pub fn merge(&mut self, r: &MergeRequest) -> Result<Moves, String> {
        if let Some(s) = self.survivor_of(&r.survivor) {
            return Err(format!(
                "the survivor {} is itself merged into {s}: merge into {s}",
                r.survivor
            ));
        }
        for m in &r.merged {
            if m == &r.survivor {
                return Err(format!("lead {m} cannot be merged into itself"));
            }
            if let Some(s) = self.survivor_of(m) {
                return Err(format!("lead {m} is already merged into {s}"));
            }
            if let Some(x) = self.merged_into(m).next() {
                return Err(format!(
                    "lead {m} has leads merged into it ({x}): merge each of them into {} \
                     directly, or unmerge them first",
                    r.survivor
                ));
            }
        }
        if r.requested_by == AUTO_MERGE_BY {
            // A rule never undoes a person: no lead joins a group holding a lead it was split
            // from (decided here, in log order, so an unmerge just before the rule's request
            // still counts).
            let group: Vec<&str> = std::iter::once(r.survivor.as_str())
                .chain(self.merged_into(&r.survivor))
                .chain(r.merged.iter().map(String::as_str))
                .collect();
            for m in &r.merged {
                if let Some(g) = group
                    .iter()
                    .find(|g| **g != m.as_str() && self.separated(m, g))
                {
                    return Err(format!(
                        "lead {m} was split from {g} by an unmerge: an auto-merge rule does not \
                         join them again (a person may, with MergeLeads)"
                    ));
                }
            }
        }
        let mut moves = Vec::with_capacity(r.merged.len());
        for m in &r.merged {
            self.into.insert(m.clone(), r.survivor.clone());
            moves.push((m.clone(), None, Some(r.survivor.clone())));
        }
        Ok(moves)
    }

    /// Decides an unmerge against the merges before it, like [`Merges::merge`].
    pub fn unmerge(&mut self, r: &UnmergeRequest) -> Result<Moves, String> {
        match self.into.remove(&r.lead) {
            Some(s) => {
                self.separated.insert(pair(&r.lead, &s));
                Ok(vec![(r.lead.clone(), Some(s), None)])
            }
            None => Err(format!("lead {} is not merged into another lead", r.lead)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(s: &str, m: &[&str]) -> MergeRequest {
        MergeRequest {
            survivor: s.into(),
            merged: m.iter().map(|x| x.to_string()).collect(),
            reason: "same person".into(),
            requested_by: "ops".into(),
        }
    }

    fn unmerge(l: &str) -> UnmergeRequest {
        UnmergeRequest {
            lead: l.into(),
            reason: "not the same".into(),
            requested_by: "ops".into(),
        }
    }

    #[test]
    fn a_chain_of_merges_and_an_unmerge() {
        let mut m = Merges::default();
        assert_eq!(
            m.merge(&merge("a", &["b"])).unwrap(),
            vec![("b".into(), None, Some("a".into()))]
        );
        m.merge(&merge("a", &["c"])).unwrap();
        assert_eq!(m.merged_into("a").collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(m.root("c"), "a");
        assert_eq!(m.root("a"), "a");
        assert_eq!(
            m.unmerge(&unmerge("b")).unwrap(),
            vec![("b".into(), Some("a".into()), None)]
        );
        assert_eq!(m.root("b"), "b");
        assert_eq!(m.merged_into("a").collect::<Vec<_>>(), ["c"]);
        // And back again.
        m.merge(&merge("a", &["b"])).unwrap();
        assert_eq!(m.root("b"), "a");
    }

    #[test]
    fn a_rule_never_joins_leads_a_person_split_but_a_person_may() {
        let auto = |s: &str, m: &[&str]| MergeRequest {
            requested_by: AUTO_MERGE_BY.into(),
            ..merge(s, m)
        };
        // Split in an earlier batch (as stored), and in this one.
        let mut m = Merges::new([("m".to_string(), "s".to_string())])
            .with_separations([("a".to_string(), "m".to_string())]);
        assert!(m.separated("m", "a"));
        // a was split from m, which is in s's group now.
        let e = m.merge(&auto("s", &["a"])).unwrap_err();
        assert!(e.contains("lead a was split from m"), "{e}");
        m.merge(&merge("x", &["y"])).unwrap();
        m.unmerge(&unmerge("y")).unwrap();
        // Through a third lead: x←{y, z} would join y and x again.
        let e = m.merge(&auto("z", &["x", "y"])).unwrap_err();
        assert!(e.contains("was split from"), "{e}");
        // A person may.
        m.merge(&merge("x", &["y"])).unwrap();
        assert_eq!(m.root("y"), "x");
    }

    #[test]
    fn refusals_change_nothing_and_name_the_lead_to_use() {
        let mut m = Merges::default();
        m.merge(&merge("a", &["b"])).unwrap();
        let before = m.clone();
        let e = m.merge(&merge("b", &["x"])).unwrap_err();
        assert!(e.contains("merged into a: merge into a"), "{e}");
        let e = m.merge(&merge("c", &["b"])).unwrap_err();
        assert!(e.contains("already merged into a"), "{e}");
        let e = m.merge(&merge("c", &["a"])).unwrap_err();
        assert!(e.contains("has leads merged into it (b)"), "{e}");
        // All or nothing: x would do, a self-merge spoils the request.
        let e = m.merge(&merge("c", &["x", "c"])).unwrap_err();
        assert!(e.contains("into itself"), "{e}");
        let e = m.unmerge(&unmerge("x")).unwrap_err();
        assert!(e.contains("not merged"), "{e}");
        assert_eq!(m, before);
    }
}
