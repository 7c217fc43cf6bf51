//! Which merges a configured auto-merge rule asks for (docs/IDENTITY.md "Auto-merge").
//!
//! The auto-merge worker lists the candidate pairs matching a tenant's auto-merge rules and
//! asks this module which `MergeRequested` intents to append. Nothing here decides a merge:
//! the intents are decided in log order like a person's ([`super::Merges`]).
//!
//! Leads linked by candidate pairs form a group; each group is one request:
//! - the survivor is the group's lead that has leads merged into it already (a merged lead
//!   cannot become a survivor's member), or else the first captured (then the smallest id);
//!   a group with two such leads needs a person and is skipped;
//! - the merged leads are those paired with the survivor itself (a lead linked only through
//!   another lead waits: the pair with the survivor is what was matched), at most
//!   [`super::MAX_MERGED`], in id order, leaving out any a person split (by an unmerge) from
//!   the survivor's group or from a lead taken before it: a rule never undoes a person. The
//!   decider checks the same again in log order ([`super::Merges::merge`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::matching::Rule;
use super::MAX_MERGED;

/// A candidate pair matching an auto-merge rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub rules: Vec<Rule>,
}

/// What the planner knows of a live lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub id: String,
    pub captured_at: Option<DateTime<Utc>>,
    /// Leads are merged into it already.
    pub has_merged: bool,
}

/// A merge to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub survivor: String,
    pub merged: Vec<String>,
    /// The rules its pairs matched, strongest first.
    pub rules: Vec<Rule>,
}

/// A group left to a person, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub leads: Vec<String>,
    pub why: String,
}

/// The merges `pairs` ask for, given what `leads` says of each lead (a lead missing from it
/// is no longer live and is left out) and the pairs of leads whose groups a person split
/// (`separated`, either order). Deterministic: the same inputs plan the same.
pub fn plan(
    pairs: &[Pair],
    leads: &[Lead],
    separated: &[(String, String)],
) -> (Vec<Planned>, Vec<Skipped>) {
    let split: BTreeSet<(&str, &str)> = separated
        .iter()
        .flat_map(|(a, b)| [(a.as_str(), b.as_str()), (b.as_str(), a.as_str())])
        .collect();
    let facts: BTreeMap<&str, &Lead> = leads.iter().map(|l| (l.id.as_str(), l)).collect();
    let live: Vec<&Pair> = pairs
        .iter()
        .filter(|p| facts.contains_key(p.a.as_str()) && facts.contains_key(p.b.as_str()))
        .collect();
    // Groups: union-find over the pairs, by lead id.
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    fn find<'a>(parent: &mut BTreeMap<&'a str, &'a str>, x: &'a str) -> &'a str {
        let mut root = x;
        while let Some(&p) = parent.get(root) {
            if p == root {
                break;
            }
            root = p;
        }
        parent.insert(x, root);
        root
    }
    for p in &live {
        let (ra, rb) = (find(&mut parent, &p.a), find(&mut parent, &p.b));
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent.insert(hi, lo);
        parent.entry(lo).or_insert(lo);
    }
    let members: Vec<&str> = parent.keys().copied().collect();
    let mut groups: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for m in members {
        let root = find(&mut parent, m);
        groups.entry(root).or_default().insert(m);
    }

    let (mut planned, mut skipped) = (Vec::new(), Vec::new());
    for group in groups.into_values() {
        let with_merged: Vec<&str> = group
            .iter()
            .copied()
            .filter(|l| facts[l].has_merged)
            .collect();
        let survivor = match with_merged.as_slice() {
            [] => group
                .iter()
                .copied()
                .min_by_key(|l| (facts[l].captured_at.is_none(), facts[l].captured_at, *l))
                .expect("a group has members"),
            [one] => one,
            _ => {
                skipped.push(Skipped {
                    leads: group.iter().map(|s| s.to_string()).collect(),
                    why: format!(
                        "leads {} each have leads merged into them: a person must choose",
                        with_merged.join(", ")
                    ),
                });
                continue;
            }
        };
        let mut paired: BTreeMap<&str, &[Rule]> = BTreeMap::new();
        for p in &live {
            if p.a == survivor {
                paired.insert(&p.b, &p.rules);
            } else if p.b == survivor {
                paired.insert(&p.a, &p.rules);
            }
        }
        let mut merged: Vec<&str> = Vec::new();
        let mut rules = BTreeSet::new();
        for (lead, r) in paired {
            let apart = std::iter::once(survivor)
                .chain(merged.iter().copied())
                .any(|other| split.contains(&(lead, other)));
            if !apart && merged.len() < MAX_MERGED {
                merged.push(lead);
                rules.extend(r.iter().copied());
            }
        }
        if merged.is_empty() {
            continue;
        }
        planned.push(Planned {
            survivor: survivor.to_string(),
            merged: merged.into_iter().map(str::to_string).collect(),
            rules: rules.into_iter().collect(),
        });
    }
    (planned, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &str, b: &str, rules: &[Rule]) -> Pair {
        Pair {
            a: a.into(),
            b: b.into(),
            rules: rules.to_vec(),
        }
    }

    fn lead(id: &str, day: Option<u32>, has_merged: bool) -> Lead {
        Lead {
            id: id.into(),
            captured_at: day.map(|d| {
                DateTime::from_timestamp(1_700_000_000 + i64::from(d) * 86_400, 0).unwrap()
            }),
            has_merged,
        }
    }

    #[test]
    fn the_first_captured_survives_and_takes_its_pairs() {
        let pairs = [
            pair("b", "c", &[Rule::Email]),
            pair("a", "c", &[Rule::Phone]),
            pair("x", "y", &[Rule::Email, Rule::Phone]),
        ];
        let leads = [
            lead("a", Some(3), false),
            lead("b", None, false),
            lead("c", Some(1), false),
            lead("x", Some(5), false),
            lead("y", Some(5), false),
        ];
        let (planned, skipped) = plan(&pairs, &leads, &[]);
        assert!(skipped.is_empty());
        assert_eq!(
            planned,
            vec![
                Planned {
                    survivor: "c".into(),
                    merged: vec!["a".into(), "b".into()],
                    rules: vec![Rule::Email, Rule::Phone],
                },
                // Captured the same moment: the smaller id.
                Planned {
                    survivor: "x".into(),
                    merged: vec!["y".into()],
                    rules: vec![Rule::Email, Rule::Phone],
                },
            ]
        );
        // The same inputs in another order plan the same.
        let mut rev = pairs.to_vec();
        rev.reverse();
        assert_eq!(plan(&rev, &leads, &[]).0, planned);
    }

    #[test]
    fn a_survivor_already_keeps_its_place_and_two_need_a_person() {
        let pairs = [pair("a", "b", &[Rule::Email])];
        let (planned, _) = plan(
            &pairs,
            &[lead("a", Some(1), false), lead("b", Some(9), true)],
            &[],
        );
        assert_eq!(planned[0].survivor, "b");
        assert_eq!(planned[0].merged, vec!["a".to_string()]);
        let (planned, skipped) = plan(
            &pairs,
            &[lead("a", Some(1), true), lead("b", Some(9), true)],
            &[],
        );
        assert!(planned.is_empty());
        assert!(skipped[0].why.contains("a, b"), "{:?}", skipped);
    }

    #[test]
    fn a_lead_linked_only_through_another_waits_and_gone_leads_are_left_out() {
        let pairs = [
            pair("a", "b", &[Rule::Email]),
            pair("b", "c", &[Rule::Phone]),
        ];
        let leads = [
            lead("a", Some(1), false),
            lead("b", Some(2), false),
            lead("c", Some(3), false),
        ];
        let (planned, _) = plan(&pairs, &leads, &[]);
        assert_eq!(planned[0].survivor, "a");
        assert_eq!(planned[0].merged, vec!["b".to_string()]);
        assert_eq!(planned[0].rules, vec![Rule::Email]);
        // b no longer live (merged by a person meanwhile): nothing to plan.
        let (planned, _) = plan(
            &pairs,
            &[lead("a", Some(1), false), lead("c", Some(3), false)],
            &[],
        );
        assert!(planned.is_empty());
    }

    #[test]
    fn leads_a_person_split_are_not_joined_through_a_third() {
        // a and s were split; both share an address with x, captured first.
        let pairs = [
            pair("a", "x", &[Rule::Email]),
            pair("s", "x", &[Rule::Email]),
        ];
        let leads = [
            lead("a", Some(2), false),
            lead("s", Some(3), false),
            lead("x", Some(1), false),
        ];
        let split = [("s".to_string(), "a".to_string())];
        let (planned, _) = plan(&pairs, &leads, &split);
        assert_eq!(planned[0].survivor, "x");
        assert_eq!(planned[0].merged, vec!["a".to_string()]);
        // Split from the survivor itself: nothing to ask.
        let split = [
            ("x".to_string(), "a".to_string()),
            ("x".to_string(), "s".to_string()),
        ];
        assert!(plan(&pairs, &leads, &split).0.is_empty());
    }
}
