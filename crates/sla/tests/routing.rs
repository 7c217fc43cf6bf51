//! Routing: first match wins, default target, deterministic seeded rotation whose shares follow
//! the weights, caps and availability.

use leadledger_domain::event::Segment;
use leadledger_sla::routing::{rep_weight, LeadFacts, Match, SkipReason, MIN_WEIGHT};
use leadledger_sla::{assign, RepRecord, RoutingRules, Rule, Target};
use proptest::prelude::*;
use uuid::Uuid;

fn team(t: &str) -> Target {
    Target::Team { team: t.into() }
}

fn rules() -> RoutingRules {
    RoutingRules {
        rules: vec![
            Rule {
                id: "east-ka".into(),
                when: Match {
                    regions: vec!["华东".into()],
                    segments: vec![Segment::Ka],
                    ..Match::default()
                },
                to: team("east-ka"),
            },
            Rule {
                id: "finance".into(),
                when: Match {
                    industries: vec!["finance".into()],
                    ..Match::default()
                },
                to: Target::Partner {
                    partner_id: "p-fin".into(),
                },
            },
            Rule {
                id: "east-any".into(),
                when: Match {
                    regions: vec!["华东".into()],
                    ..Match::default()
                },
                to: Target::Queue {
                    queue: "east-smb".into(),
                },
            },
        ],
        default: Target::Queue {
            queue: "unrouted".into(),
        },
    }
}

fn lead(region: &str, industry: &str, segment: Segment) -> LeadFacts {
    LeadFacts {
        region: region.into(),
        industry: industry.into(),
        segment,
        channel: "webinar".into(),
    }
}

fn rep(id: &str, hours: f64, completeness: f64, conversion: f64) -> RepRecord {
    RepRecord {
        rep_id: id.into(),
        team: "east-ka".into(),
        follow_up_median_hours: hours,
        feedback_completeness: completeness,
        conversion_rate: conversion,
        open_leads: 0,
        cap: None,
        available: true,
    }
}

fn reps() -> Vec<RepRecord> {
    vec![
        rep("r1", 0.0, 1.0, 1.0),  // 1.5
        rep("r2", 24.0, 1.0, 0.5), // 0.5
        rep("r3", 24.0, 0.5, 0.0), // 0.125
        rep("x9", 0.0, 1.0, 1.0),  // other team below
    ]
    .into_iter()
    .map(|mut r| {
        if r.rep_id == "x9" {
            r.team = "west".into();
        }
        r
    })
    .collect()
}

fn seed(n: u64) -> Uuid {
    leadledger_domain::ids::source_event_id("acme", "hubspot", &n.to_string())
}

#[test]
fn the_first_matching_rule_wins() {
    let rules = rules();
    rules.validate().unwrap();
    // KA in East matches both east-ka and east-any: the first wins.
    let a = assign(
        &lead("华东", "finance", Segment::Ka),
        &rules,
        &reps(),
        seed(1),
    );
    assert_eq!(a.rule_id.as_deref(), Some("east-ka"));
    assert_eq!(a.target, team("east-ka"));
    assert!(a.rep_id.is_some());
    // SMB finance in East: finance comes before east-any.
    let a = assign(
        &lead("华东", "Finance ", Segment::Smb),
        &rules,
        &reps(),
        seed(1),
    );
    assert_eq!(a.rule_id.as_deref(), Some("finance"));
    assert_eq!(a.owner().partner_id, "p-fin");
    assert_eq!(a.rep_id, None);
    let a = assign(
        &lead("华东", "retail", Segment::Smb),
        &rules,
        &reps(),
        seed(1),
    );
    assert_eq!(a.rule_id.as_deref(), Some("east-any"));
    assert_eq!(a.owner().queue, "east-smb");
}

#[test]
fn no_match_goes_to_the_default() {
    let a = assign(
        &lead("华南", "retail", Segment::Ka),
        &rules(),
        &reps(),
        seed(1),
    );
    assert_eq!(a.rule_id, None);
    assert_eq!(
        a.target,
        Target::Queue {
            queue: "unrouted".into()
        }
    );
    assert!(a.reason.contains("default"));
}

#[test]
fn weights_follow_the_documented_formula() {
    let w: Vec<f64> = reps().iter().map(rep_weight).collect();
    assert_eq!(w[..3], [1.5, 0.5, 0.125]);
    assert_eq!(rep_weight(&rep("slow", 48.0, 0.0, 0.0)), MIN_WEIGHT);
    assert_eq!(rep_weight(&rep("nan", f64::NAN, f64::NAN, f64::NAN)), 0.125);
    assert_eq!(rep_weight(&rep("wild", -5.0, 7.0, 9.0)), 1.5);
    let a = assign(
        &lead("华东", "retail", Segment::Ka),
        &rules(),
        &reps(),
        seed(7),
    );
    assert_eq!(
        a.weights,
        vec![("r1".into(), 1.5), ("r2".into(), 0.5), ("r3".into(), 0.125)]
    );
}

#[test]
fn shares_follow_the_weights_over_many_leads() {
    let lead = lead("华东", "retail", Segment::Ka);
    let (rules, reps) = (rules(), reps());
    let n = 20_000u64;
    let mut counts = [0u64; 3];
    for i in 0..n {
        let a = assign(&lead, &rules, &reps, seed(i));
        let k = ["r1", "r2", "r3"]
            .iter()
            .position(|r| Some(*r) == a.rep_id.as_deref())
            .unwrap();
        counts[k] += 1;
    }
    let total = 1.5 + 0.5 + 0.125;
    let chi2: f64 = counts
        .iter()
        .zip([1.5, 0.5, 0.125])
        .map(|(&o, w)| {
            let e = n as f64 * w / total;
            (o as f64 - e).powi(2) / e
        })
        .sum();
    // 2 degrees of freedom: P(χ² > 13.8) = 0.1 %.
    assert!(chi2 < 13.8, "counts {counts:?}, chi² {chi2}");
}

#[test]
fn sequential_v7_like_ids_spread_too() {
    let lead = lead("华东", "retail", Segment::Ka);
    let reps = vec![rep("a", 24.0, 1.0, 0.5), rep("b", 24.0, 1.0, 0.5)];
    let a_count = (0..10_000u128)
        .filter(|i| {
            // Same timestamp prefix, counter in the low bits: the hard case for a naive hash.
            let id = Uuid::from_u128((0x0190_0000_0000_7000_8000_0000_0000_0000u128) | i);
            assign(&lead, &rules(), &reps, id).rep_id.as_deref() == Some("a")
        })
        .count();
    assert!((4_700..=5_300).contains(&a_count), "{a_count}");
}

#[test]
fn unavailable_and_capped_reps_are_skipped_and_an_empty_team_keeps_the_queue() {
    let mut reps = reps();
    reps[0].available = false;
    reps[1].open_leads = 10;
    reps[1].cap = Some(10);
    let lead = lead("华东", "retail", Segment::Ka);
    for i in 0..200 {
        let a = assign(&lead, &rules(), &reps, seed(i));
        assert_eq!(a.rep_id.as_deref(), Some("r3"));
        assert_eq!(
            a.skipped,
            vec![
                ("r1".into(), SkipReason::Unavailable),
                (
                    "r2".into(),
                    SkipReason::AtCap {
                        open_leads: 10,
                        cap: 10
                    }
                ),
            ]
        );
    }
    reps[2].available = false;
    let a = assign(&lead, &rules(), &reps, seed(1));
    assert_eq!(a.rep_id, None);
    assert_eq!(a.target, team("east-ka"));
    assert_eq!(a.owner().team, "east-ka");
    assert!(a.reason.contains("left in the team queue"), "{}", a.reason);
}

#[test]
fn invalid_rules_are_refused() {
    let mut r = rules();
    r.rules[1].id = "east-ka".into();
    assert_eq!(r.validate().unwrap_err().rule, "east-ka");
    let mut r = rules();
    r.default = Target::Queue { queue: " ".into() };
    assert_eq!(r.validate().unwrap_err().rule, "default");
}

proptest! {
    #[test]
    fn deterministic_and_independent_of_rep_order(
        n in any::<u128>(),
        order in Just(reps()).prop_shuffle(),
    ) {
        let lead = lead("华东", "retail", Segment::Ka);
        let a = assign(&lead, &rules(), &reps(), Uuid::from_u128(n));
        let b = assign(&lead, &rules(), &order, Uuid::from_u128(n));
        prop_assert_eq!(&a, &b);
        prop_assert!(a.rep_id.is_some());
    }
}
