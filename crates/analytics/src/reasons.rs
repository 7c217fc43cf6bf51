//! Why leads leave the main line: exits counted by reason code, with each code's share of
//! its group's exits of that kind (docs/ANALYTICS.md, "Reasons").

use std::collections::BTreeMap;

use leadledger_domain::Stage;

/// Exits of one kind with one code in one group, as the store counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub key: Vec<String>,
    /// Rejected, recycled, disqualified or lost.
    pub kind: Stage,
    pub code: String,
    pub exits: i64,
    /// The distinct leads behind them.
    pub leads: i64,
}

/// Exits with one code, and their share of the group's exits of that kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub code: String,
    pub exits: i64,
    pub share: f64,
    /// The distinct leads behind the exits.
    pub leads: i64,
}

/// The exits of one kind in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub key: Vec<String>,
    pub kind: Stage,
    pub exits: i64,
    /// Most frequent first, then by code.
    pub reasons: Vec<Reason>,
}

/// Groups `counts` (any order; a repeated (key, kind, code) adds up, its leads too: the
/// store gives each once) by key, then kind in stage order; each group's reasons most
/// frequent first, then by code. Shares of a group add up to 1.
pub fn groups(counts: impl IntoIterator<Item = Count>) -> Vec<Group> {
    type Codes = BTreeMap<String, (i64, i64)>;
    let mut by_group: BTreeMap<(Vec<String>, Stage), Codes> = BTreeMap::new();
    for c in counts {
        let n = by_group
            .entry((c.key, c.kind))
            .or_default()
            .entry(c.code)
            .or_default();
        n.0 += c.exits;
        n.1 += c.leads;
    }
    by_group
        .into_iter()
        .map(|((key, kind), codes)| {
            let exits: i64 = codes.values().map(|n| n.0).sum();
            let mut reasons: Vec<Reason> = codes
                .into_iter()
                .map(|(code, (n, leads))| Reason {
                    code,
                    exits: n,
                    share: if exits == 0 {
                        0.0
                    } else {
                        n as f64 / exits as f64
                    },
                    leads,
                })
                .collect();
            // Stable: equal counts keep the map's code order.
            reasons.sort_by_key(|r| std::cmp::Reverse(r.exits));
            Group {
                key,
                kind,
                exits,
                reasons,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn count(key: &str, kind: Stage, code: &str, exits: i64) -> Count {
        Count {
            key: vec![key.to_string()],
            kind,
            code: code.to_string(),
            exits,
            leads: exits,
        }
    }

    #[test]
    fn groups_by_key_then_kind_and_orders_reasons_by_count_then_code() {
        let g = groups([
            count("web", Stage::Lost, "price", 2),
            count("ads", Stage::Recycled, "stale", 1),
            count("web", Stage::Rejected, "no_need", 1),
            count("web", Stage::Lost, "budget", 2),
            count("web", Stage::Lost, "competitor", 4),
            count("web", Stage::Lost, "price", 1),
        ]);
        let shape: Vec<(String, Stage, i64)> = g
            .iter()
            .map(|g| (g.key[0].clone(), g.kind, g.exits))
            .collect();
        assert_eq!(
            shape,
            [
                ("ads".into(), Stage::Recycled, 1),
                ("web".into(), Stage::Rejected, 1),
                ("web".into(), Stage::Lost, 9),
            ]
        );
        let lost: Vec<(&str, i64)> = g[2]
            .reasons
            .iter()
            .map(|r| (r.code.as_str(), r.exits))
            .collect();
        assert_eq!(lost, [("competitor", 4), ("price", 3), ("budget", 2)]);
        assert_eq!(g[2].reasons[0].share, 4.0 / 9.0);
    }

    proptest! {
        #[test]
        fn shares_add_up_to_one_and_counts_to_the_input(
            rows in proptest::collection::vec((0..3u8, 0..4usize, 0..5u8, 1..50i64), 0..40)
        ) {
            let kinds = [Stage::Rejected, Stage::Recycled, Stage::Disqualified, Stage::Lost];
            let input: Vec<Count> = rows
                .iter()
                .map(|(k, s, c, n)| count(&k.to_string(), kinds[*s], &format!("c{c}"), *n))
                .collect();
            let total: i64 = input.iter().map(|c| c.exits).sum();
            let g = groups(input);
            prop_assert_eq!(g.iter().map(|g| g.exits).sum::<i64>(), total);
            for group in &g {
                let shares: f64 = group.reasons.iter().map(|r| r.share).sum();
                prop_assert!((shares - 1.0).abs() < 1e-9);
                prop_assert!(group.reasons.windows(2).all(|w| w[0].exits >= w[1].exits));
            }
        }
    }
}
