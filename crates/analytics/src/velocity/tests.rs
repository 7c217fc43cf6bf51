use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::Stay;

fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, day, hour, 0, 0).unwrap()
}

fn stay(stage: Stage, entered: DateTime<Utc>, exited: Option<DateTime<Utc>>) -> Stay {
    Stay {
        stage,
        entered_at: entered,
        exited_at: exited,
    }
}

fn lead(id: &str, key: &str, stays: Vec<Stay>) -> LeadStays {
    LeadStays {
        lead_id: id.into(),
        key: vec![key.into()],
        captured_at: stays.first().map(|s| s.entered_at),
        owner: Owner {
            rep_id: format!("rep-of-{id}"),
            ..Owner::default()
        },
        stays,
    }
}

fn params(window_days: i64, at: DateTime<Utc>) -> Params {
    Params {
        window: TimeDelta::days(window_days),
        at,
        stalled_limit: 100,
        stalled_stages: StageSet::default(),
    }
}

const HOUR: i64 = 3_600_000_000;

#[test]
fn nearest_rank_is_percentile_disc() {
    let s = [10, 20, 30, 40];
    assert_eq!(nearest_rank(&s, 0.5), Some(20));
    assert_eq!(nearest_rank(&s, 0.9), Some(40));
    assert_eq!(nearest_rank(&s, 0.0), Some(10));
    assert_eq!(nearest_rank(&[7], 0.9), Some(7));
    assert_eq!(nearest_rank(&[], 0.5), None);
    let ten: Vec<i64> = (1..=10).collect();
    assert_eq!(nearest_rank(&ten, 0.9), Some(9));
}

#[test]
fn a_skip_then_a_regression_does_not_advance_from_the_regressed_stage() {
    // MQL skipped (SQL at day 2, 21:00), back to MQL at day 3, SQL again 47 days later.
    let a = lead(
        "A",
        "x",
        vec![
            stay(Stage::Captured, t(1, 9), Some(t(2, 21))),
            stay(Stage::Sql, t(2, 21), Some(t(3, 9))),
            stay(Stage::Mql, t(3, 9), Some(t(3, 9) + TimeDelta::days(47))),
            stay(Stage::Sql, t(3, 9) + TimeDelta::days(47), None),
        ],
    );
    // MQL → rejected → MQL → SQL within a week.
    let b = lead(
        "B",
        "x",
        vec![
            stay(Stage::Captured, t(1, 9), Some(t(2, 9))),
            stay(Stage::Mql, t(2, 9), Some(t(3, 9))),
            stay(Stage::Rejected, t(3, 9), Some(t(5, 9))),
            stay(Stage::Mql, t(5, 9), Some(t(6, 9))),
            stay(Stage::Sql, t(6, 9), None),
        ],
    );
    let v = velocity([a, b], params(30, t(30, 0)));
    let g = &v.groups[0];
    let fig = |s: Stage| g.stages.iter().find(|f| f.stage == s).unwrap();
    let mql = fig(Stage::Mql);
    assert_eq!((mql.completed, mql.entered, mql.advanced), (3, 2, 1));
    assert_eq!(mql.p50_us, Some(24 * HOUR));
    assert_eq!(fig(Stage::Rejected).p50_us, Some(48 * HOUR));
    // Captured: both advanced (A by its skip to SQL).
    assert_eq!(
        (fig(Stage::Captured).entered, fig(Stage::Captured).advanced),
        (2, 2)
    );
    // Stages in lifecycle order.
    let order: Vec<Stage> = g.stages.iter().map(|f| f.stage).collect();
    assert_eq!(
        order,
        [Stage::Captured, Stage::Mql, Stage::Sql, Stage::Rejected]
    );
}

#[test]
fn stalled_against_the_groups_own_p90_and_never_in_a_final_stage() {
    let at = t(30, 0);
    let leads = vec![
        // Group "fast": MQL stays of 1 h; C has sat in MQL since day 20.
        lead("A", "fast", vec![stay(Stage::Mql, t(1, 0), Some(t(1, 1)))]),
        lead("B", "fast", vec![stay(Stage::Mql, t(2, 0), Some(t(2, 1)))]),
        lead("C", "fast", vec![stay(Stage::Mql, t(20, 0), None)]),
        // Group "slow": MQL stays of 20 days; D's 10 days are fine there.
        lead("D", "slow", vec![stay(Stage::Mql, t(20, 0), None)]),
        lead("E", "slow", vec![stay(Stage::Mql, t(1, 0), Some(t(21, 0)))]),
        // Signed for ages: final, never stalled.
        lead(
            "F",
            "fast",
            vec![
                stay(Stage::Poc, t(1, 0), Some(t(1, 2))),
                stay(Stage::Signed, t(1, 2), None),
            ],
        ),
        // POC open with no completed POC stay in "slow": no P90, not stalled.
        lead("G", "slow", vec![stay(Stage::Poc, t(1, 0), None)]),
    ];
    let v = velocity(leads.clone(), params(90, at));
    let ids: Vec<&str> = v.stalled.iter().map(|s| s.lead_id.as_str()).collect();
    assert_eq!(ids, ["C"]);
    let c = &v.stalled[0];
    assert_eq!((c.in_stage_us, c.p90_us), (10 * 24 * HOUR, HOUR));
    assert_eq!(c.owner.rep_id, "rep-of-C");
    assert_eq!(c.key, ["fast"]);
    let fast = &v.groups[0];
    assert_eq!(fast.key, ["fast"]);
    assert_eq!(fast.stages.iter().map(|f| f.stalled).sum::<u64>(), 1);
    // Only POC may stall: nothing does (C sits in MQL, G's group has no POC P90).
    let mut p = params(90, at);
    p.stalled_stages.insert(Stage::Poc);
    let only_poc = velocity(leads, p);
    assert!(only_poc.stalled.is_empty());
    assert_eq!(
        only_poc
            .groups
            .iter()
            .flat_map(|g| &g.stages)
            .map(|f| f.stalled)
            .sum::<u64>(),
        0
    );
}

#[test]
fn the_window_bound_is_inclusive_and_an_empty_input_has_no_groups() {
    let a = lead(
        "A",
        "x",
        vec![
            stay(Stage::Mql, t(1, 0), Some(t(1, 0) + TimeDelta::days(30))),
            stay(Stage::Sql, t(1, 0) + TimeDelta::days(30), None),
        ],
    );
    let v = velocity([a.clone()], params(30, t(30, 0)));
    assert_eq!(v.groups[0].stages[0].advanced, 1);
    let mut p = params(30, t(30, 0));
    p.window = TimeDelta::days(30) - TimeDelta::microseconds(1);
    assert_eq!(velocity([a], p).groups[0].stages[0].advanced, 0);
    assert_eq!(velocity([], params(30, t(30, 0))), Velocity::default());
}

fn arb_lead() -> impl Strategy<Value = LeadStays> {
    let stage = (1..=9i32).prop_map(|n| Stage::from_number(n).unwrap());
    (
        0..3u8,
        prop::collection::vec(
            (stage, 0..2_000_000i64, prop::option::of(0..500_000i64)),
            1..6,
        ),
    )
        .prop_map(|(key, stays)| {
            let base = t(1, 0);
            let mut at = base;
            let stays = stays
                .into_iter()
                .map(|(stage, gap, len)| {
                    at += TimeDelta::seconds(gap);
                    let s = stay(stage, at, len.map(|l| at + TimeDelta::seconds(l)));
                    if let Some(e) = s.exited_at {
                        at = e;
                    }
                    s
                })
                .collect();
            lead("", &format!("k{key}"), stays)
        })
}

proptest! {
    /// The figures do not depend on the order leads arrive in, every percentile is one of
    /// the sampled durations with P50 ≤ P90, and the counts are bounded by what they count.
    #[test]
    fn order_free_and_bounded(mut leads in prop::collection::vec(arb_lead(), 0..40), seed in any::<u64>()) {
        for (i, l) in leads.iter_mut().enumerate() {
            l.lead_id = format!("L{i:03}");
        }
        let p = params(20, t(30, 0) + TimeDelta::days(10));
        let v = velocity(leads.clone(), p);
        let mut shuffled = leads.clone();
        let n = shuffled.len();
        if n > 1 {
            for i in 0..n {
                let j = (seed.wrapping_mul(i as u64 + 1) >> 7) as usize % n;
                shuffled.swap(i, j);
            }
        }
        prop_assert_eq!(&velocity(shuffled, p), &v);
        let total_stays: usize = leads.iter().map(|l| l.stays.len()).sum();
        let counted: u64 = v.groups.iter().flat_map(|g| &g.stages).map(|f| f.completed + f.open).sum();
        prop_assert_eq!(counted as usize, total_stays);
        for f in v.groups.iter().flat_map(|g| &g.stages) {
            prop_assert!(f.advanced <= f.entered && f.stalled <= f.open);
            if let (Some(p50), Some(p90)) = (f.p50_us, f.p90_us) {
                prop_assert!(p50 <= p90);
            } else {
                prop_assert_eq!(f.completed, 0);
            }
        }
        let stalled: u64 = v.groups.iter().flat_map(|g| &g.stages).map(|f| f.stalled).sum();
        prop_assert_eq!(v.stalled.len() as u64, stalled.min(100));
        for s in &v.stalled {
            prop_assert!(s.in_stage_us > s.p90_us && !is_final(s.stage));
        }
    }
}
