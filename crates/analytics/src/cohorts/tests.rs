use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::{Owner, Stay};

fn t(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, 0, 0).unwrap()
}

fn lead(key: &str, captured: Option<DateTime<Utc>>, stays: &[(Stage, DateTime<Utc>)]) -> LeadStays {
    LeadStays {
        lead_id: String::new(),
        key: vec![key.into()],
        captured_at: captured,
        owner: Owner::default(),
        stays: stays
            .iter()
            .map(|(stage, at)| Stay {
                stage: *stage,
                entered_at: *at,
                exited_at: None,
            })
            .collect(),
    }
}

#[test]
fn periods_are_utc_months_and_iso_weeks() {
    assert_eq!(
        Period::Month.of(t(4, 30, 23)),
        ("2026-04".into(), t(5, 1, 0))
    );
    assert_eq!(
        Period::Month.of(t(12, 31, 0)).1,
        Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
    );
    // 2026-01-01 is a Thursday: ISO week 1 of 2026 runs Monday 2025-12-29 to Sunday 01-04.
    assert_eq!(Period::Week.of(t(1, 1, 9)), ("2026-W01".into(), t(1, 5, 0)));
    let dec29 = Utc.with_ymd_and_hms(2025, 12, 29, 0, 0, 0).unwrap();
    assert_eq!(Period::Week.of(dec29).0, "2026-W01");
}

#[test]
fn cumulative_curves_count_a_skip_and_mark_the_weeks_still_filling() {
    let c = t(4, 6, 9); // Monday of ISO week 15
    let leads = [
        // MQL after 7 days exactly (within week 1), SQL 10 days (week 2).
        lead(
            "x",
            Some(c),
            &[
                (Stage::Captured, c),
                (Stage::Mql, c + TimeDelta::days(7)),
                (Stage::Sql, c + TimeDelta::days(10)),
            ],
        ),
        // Skips to POC after 3 weeks and a second: reaches MQL, SQL and POC in week 4.
        lead(
            "x",
            Some(c),
            &[
                (Stage::Captured, c),
                (Stage::Poc, c + TimeDelta::weeks(3) + TimeDelta::seconds(1)),
            ],
        ),
        // Never moves.
        lead(
            "x",
            Some(c + TimeDelta::days(2)),
            &[(Stage::Captured, c + TimeDelta::days(2))],
        ),
        // No capture yet: in no cohort.
        lead("x", None, &[(Stage::Mql, c)]),
    ];
    let at = c + TimeDelta::days(7 + 2 * 7); // two whole weeks after the ISO week's end
    let got = cohorts(
        &leads,
        Params {
            period: Period::Week,
            weeks: 5,
            at,
        },
    );
    assert_eq!(got.len(), 1);
    let k = &got[0];
    assert_eq!(
        (k.cohort.as_str(), k.leads, k.complete_weeks),
        ("2026-W15", 3, 2)
    );
    assert_eq!(k.reached[0], [1, 1, 1, 2, 2]); // MQL
    assert_eq!(k.reached[1], [0, 1, 1, 2, 2]); // SQL
    assert_eq!(k.reached[2], [0, 0, 0, 1, 1]); // POC
    assert_eq!(k.reached[3], [0, 0, 0, 0, 0]); // signed
}

fn arb_lead() -> impl Strategy<Value = LeadStays> {
    let stage = (1..=9i32).prop_map(|n| Stage::from_number(n).unwrap());
    (
        0..2u8,
        0..10_000_000i64,
        prop::collection::vec((stage, -200_000i64..5_000_000), 0..5),
    )
        .prop_map(|(key, capture, stays)| {
            let c = t(1, 1, 0) + TimeDelta::seconds(capture);
            let stays: Vec<(Stage, DateTime<Utc>)> = stays
                .into_iter()
                .map(|(s, d)| (s, c + TimeDelta::seconds(d)))
                .collect();
            lead(&format!("k{key}"), Some(c), &stays)
        })
}

proptest! {
    /// Curves never fall, a later stage is never above an earlier one, nothing exceeds the
    /// cohort, every lead is in exactly one cohort, and the order of leads does not matter.
    #[test]
    fn curves_are_cumulative_nested_and_order_free(leads in prop::collection::vec(arb_lead(), 0..40), month in any::<bool>()) {
        let period = if month { Period::Month } else { Period::Week };
        let p = Params { period, weeks: 8, at: t(6, 1, 0) };
        let got = cohorts(&leads, p);
        let mut reversed = leads.clone();
        reversed.reverse();
        prop_assert_eq!(&cohorts(&reversed, p), &got);
        prop_assert_eq!(got.iter().map(|c| c.leads).sum::<u64>(), leads.len() as u64);
        for c in &got {
            prop_assert!(c.complete_weeks <= 8);
            for s in 0..4 {
                prop_assert_eq!(c.reached[s].len(), 8);
                for w in 0..8 {
                    prop_assert!(c.reached[s][w] <= c.leads);
                    if w > 0 { prop_assert!(c.reached[s][w] >= c.reached[s][w - 1]); }
                    if s > 0 { prop_assert!(c.reached[s][w] <= c.reached[s - 1][w]); }
                }
            }
        }
    }
}
