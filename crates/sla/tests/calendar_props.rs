//! Properties of business-time arithmetic over random calendars: random split working days
//! (quarter-hour boundaries, so they often sit on DST transitions), random holidays and
//! make-up days, in time zones with and without DST, including a 30-minute DST (Lord Howe), a
//! half-hour offset (Kolkata) and transitions at midnight (Santiago). Instants are drawn over
//! 2025 with a bias towards the zones' transition instants.
//!
//! `wd` is `working_duration`, `add` is `add_working`. The precise statements:
//! - `0 <= wd(a, b) <= max(b - a, 0)`, and `wd(a, b) = 0` when `b <= a`;
//! - additivity: `wd(a, b) = wd(a, m) + wd(m, b)` for `a <= m <= b`;
//! - monotone: `wd(a, ·)` is non-decreasing, `wd(·, b)` non-increasing;
//! - no working time on a holiday: `wd` over a holiday's whole local day is zero;
//! - `is_working(t)` agrees with the wall-clock oracle, and with `wd(t, t + 1 s) = 1 s`;
//! - `wd` equals a minute-by-minute count of the oracle (independent brute force);
//! - round trip: `wd(a, add(a, d)) = d` and `add(a, d)` is the earliest such instant;
//! - `t = add(a, wd(a, b))` is the earliest `t >= a` with `wd(t, b) = 0`: `t <= b`, no working
//!   time in `[t, b)`, and (if `wd(a, b) > 0`) working time just before `t`;
//! - `add` is monotone in `d` and in `a`, and composes: `add(a, d1 + d2) = add(add(a, d1), d2)`.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use leadledger_sla::calendar::{BusinessCalendar, CalendarSpec, WorkInterval};
use proptest::prelude::*;

const ZONES: [Tz; 7] = [
    chrono_tz::America::New_York,
    chrono_tz::Europe::Berlin,
    chrono_tz::Asia::Shanghai,
    chrono_tz::UTC,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Asia::Kolkata,
    chrono_tz::America::Santiago,
];

/// 2025 transition instants (UTC) of the zones above.
fn transitions() -> Vec<DateTime<Utc>> {
    [
        (2025, 3, 9, 7),   // New York spring
        (2025, 11, 2, 6),  // New York fall
        (2025, 3, 30, 1),  // Berlin spring
        (2025, 10, 26, 1), // Berlin fall
        (2025, 4, 5, 15),  // Lord Howe (02:00 → 01:30)
        (2025, 10, 4, 15), // Lord Howe (02:00 → 02:30)
        (2025, 4, 6, 3),   // Santiago (24:00 → 23:00)
        (2025, 9, 7, 4),   // Santiago (00:00 → 01:00)
    ]
    .into_iter()
    .map(|(y, m, d, h)| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap())
    .collect()
}

#[derive(Debug, Clone)]
struct Case {
    spec: CalendarSpec,
    cal: BusinessCalendar,
}

impl Case {
    /// The rule, straight from the spec: the wall clock shows a working time of a working date.
    fn oracle(&self, t: DateTime<Utc>) -> bool {
        let l = t.with_timezone(&self.spec.tz);
        let d = l.date_naive();
        let hours: &[WorkInterval] = if self.spec.makeup_days.contains(&d) {
            self.spec.makeup_hours.as_deref().unwrap()
        } else if self.spec.holidays.contains(&d) {
            &[]
        } else {
            &self.spec.week[d.weekday().num_days_from_monday() as usize]
        };
        let s = l.num_seconds_from_midnight();
        hours
            .iter()
            .any(|iv| iv.start_secs() <= s && s < iv.end_secs())
    }
}

fn day_hours() -> impl Strategy<Value = Vec<WorkInterval>> {
    // Up to two intervals on quarter-hour boundaries: sorted distinct points, paired.
    prop::collection::btree_set(0u32..=96, 0..=4).prop_map(|pts| {
        let pts: Vec<u32> = pts.into_iter().collect();
        pts.chunks_exact(2)
            .map(|p| WorkInterval::from_secs(p[0] * 900, p[1] * 900).unwrap())
            .collect()
    })
}

fn base_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 12, 20).unwrap()
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(ZONES.to_vec()),
        prop::array::uniform7(day_hours()),
        prop::collection::btree_set(0u64..390, 0..60),
        prop::collection::btree_set(0u64..390, 0..12),
        day_hours(),
    )
        .prop_map(|(tz, mut week, hol, makeup, mut makeup_hours)| {
            if week.iter().all(Vec::is_empty) {
                week[0] = vec![WorkInterval::hm(9, 0, 18, 0).unwrap()];
            }
            if makeup_hours.is_empty() {
                makeup_hours = vec![WorkInterval::hm(10, 0, 16, 0).unwrap()];
            }
            let date = |n: u64| base_date() + chrono::Days::new(n);
            let holidays: BTreeSet<NaiveDate> = hol.iter().map(|&n| date(n)).collect();
            let makeup_days = makeup
                .iter()
                .map(|&n| date(n))
                .filter(|d| !holidays.contains(d))
                .collect();
            let spec = CalendarSpec {
                tz,
                week,
                holidays,
                makeup_days,
                makeup_hours: Some(makeup_hours),
            };
            let cal = spec.clone().build().expect("generated calendars are valid");
            Case { spec, cal }
        })
}

/// An instant in 2025, whole seconds, often within a day and a half of a transition.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    prop_oneof![
        (0i64..365 * 86_400).prop_map(move |s| start + Duration::seconds(s)),
        (prop::sample::select(transitions()), -129_600i64..129_600)
            .prop_map(|(t, s)| t + Duration::seconds(s)),
    ]
}

/// A span of up to 12 days (negative sometimes, to cover empty ranges).
fn span() -> impl Strategy<Value = Duration> {
    (-86_400i64..12 * 86_400).prop_map(Duration::seconds)
}

fn working(max_hours: i64) -> impl Strategy<Value = Duration> {
    (0i64..max_hours * 3600).prop_map(Duration::seconds)
}

proptest! {
    #[test]
    fn bounded_by_wall_time(c in case(), a in instant(), s in span()) {
        let b = a + s;
        let w = c.cal.working_duration(a, b);
        prop_assert!(w >= Duration::zero());
        prop_assert!(w <= (b - a).max(Duration::zero()));
        if b <= a {
            prop_assert_eq!(w, Duration::zero());
        }
    }

    #[test]
    fn additive_over_a_split_point(c in case(), a in instant(), s in span(), f in 0.0f64..=1.0) {
        let b = a + s.abs();
        let m = a + Duration::seconds(((b - a).num_seconds() as f64 * f) as i64);
        prop_assert_eq!(
            c.cal.working_duration(a, b),
            c.cal.working_duration(a, m) + c.cal.working_duration(m, b)
        );
    }

    #[test]
    fn monotone_in_both_ends(c in case(), a in instant(), s in span(), e in 0i64..86_400) {
        let b = a + s.abs();
        let w = c.cal.working_duration(a, b);
        prop_assert!(c.cal.working_duration(a, b + Duration::seconds(e)) >= w);
        prop_assert!(c.cal.working_duration(a + Duration::seconds(e), b) <= w);
    }

    #[test]
    fn is_working_agrees_with_the_wall_clock(c in case(), t in instant()) {
        let w = c.cal.is_working(t);
        prop_assert_eq!(w, c.oracle(t));
        let next = c.cal.working_duration(t, t + Duration::seconds(1));
        prop_assert_eq!(next, if w { Duration::seconds(1) } else { Duration::zero() });
    }

    #[test]
    fn zero_on_a_holiday(c in case(), n in 0usize..60) {
        prop_assume!(!c.spec.holidays.is_empty());
        let h = *c.spec.holidays.iter().nth(n % c.spec.holidays.len()).unwrap();
        prop_assume!(!c.spec.makeup_days.contains(&h));
        // Every instant whose local date is h lies between the first instants of h and h + 1.
        let first = |d: NaiveDate| {
            (0..180)
                .find_map(|m| {
                    let l = d.and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(m);
                    c.spec.tz.from_local_datetime(&l).earliest()
                })
                .unwrap()
                .with_timezone(&Utc)
        };
        let next = h.succ_opt().unwrap();
        let (a, b) = (first(h), first(next));
        // Only instants of date h lie in [a, b) for these zones (no backwards jump over midnight).
        prop_assert_eq!(c.cal.working_duration(a, b), Duration::zero());
        prop_assert!(c.cal.hours_on(h).is_empty());
    }

    #[test]
    fn round_trip_add_then_measure(c in case(), a in instant(), d in working(80)) {
        let t = c.cal.add_working(a, d);
        prop_assert!(t >= a);
        prop_assert_eq!(c.cal.working_duration(a, t), d);
        if d > Duration::zero() {
            // Earliest: a nanosecond earlier, d has not elapsed yet.
            prop_assert!(c.cal.working_duration(a, t - Duration::nanoseconds(1)) < d);
        } else {
            prop_assert_eq!(t, a);
        }
    }

    #[test]
    fn measure_then_add_lands_at_the_last_working_instant(c in case(), a in instant(), s in span()) {
        let b = a + s;
        let w = c.cal.working_duration(a, b);
        let t = c.cal.add_working(a, w);
        prop_assert!(t >= a);
        prop_assert!(t <= b.max(a));
        prop_assert_eq!(c.cal.working_duration(a, t), w);
        prop_assert_eq!(c.cal.working_duration(t, b), Duration::zero());
        if w > Duration::zero() {
            prop_assert!(c.cal.working_duration(t - Duration::seconds(1), t) > Duration::zero());
        } else {
            prop_assert_eq!(t, a);
        }
    }

    #[test]
    fn add_is_monotone_and_composes(
        c in case(), a in instant(), e in 0i64..200_000, d1 in working(40), d2 in working(40),
    ) {
        let lo = d1.min(d2);
        let hi = d1.max(d2);
        prop_assert!(c.cal.add_working(a, lo) <= c.cal.add_working(a, hi));
        prop_assert!(c.cal.add_working(a, d1) <= c.cal.add_working(a + Duration::seconds(e), d1));
        prop_assert_eq!(
            c.cal.add_working(a, d1 + d2),
            c.cal.add_working(c.cal.add_working(a, d1), d2)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn equals_a_minute_by_minute_count(c in case(), a in instant(), minutes in 0i64..3 * 1440) {
        // Whole minutes: every boundary (quarter hours, whole-minute offsets) falls on one.
        let a = a - Duration::seconds(i64::from(a.second()));
        let count = (0..minutes)
            .filter(|m| c.oracle(a + Duration::minutes(*m)))
            .count() as i64;
        prop_assert_eq!(
            c.cal.working_duration(a, a + Duration::minutes(minutes)),
            Duration::minutes(count)
        );
    }
}
