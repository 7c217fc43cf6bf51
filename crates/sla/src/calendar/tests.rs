//! Worked examples of the calendar rule: weekends, split days, holidays, make-up days and the
//! DST transitions of New York and Berlin (Shanghai has none). Properties over random
//! calendars live in `tests/calendar_props.rs`.

use super::*;
use chrono_tz::America::New_York;
use chrono_tz::Asia::Shanghai;
use chrono_tz::Europe::Berlin;

fn at(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .earliest()
        .expect("a valid local time")
        .with_timezone(&Utc)
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn hours(h: i64) -> Duration {
    Duration::hours(h)
}

/// A calendar working only on Sundays, in the given interval (to sit on a DST transition).
fn sunday_only(tz: Tz, iv: WorkInterval) -> BusinessCalendar {
    let mut spec = CalendarSpec::standard(tz);
    spec.week = Default::default();
    spec.week[6] = vec![iv];
    spec.build().unwrap()
}

#[test]
fn friday_evening_to_monday_morning_skips_the_weekend() {
    let cal = BusinessCalendar::standard(Shanghai);
    let fri = at(Shanghai, 2025, 6, 6, 17, 0);
    assert_eq!(
        cal.add_working(fri, hours(2)),
        at(Shanghai, 2025, 6, 9, 10, 0)
    );
    assert_eq!(
        cal.working_duration(fri, at(Shanghai, 2025, 6, 9, 10, 0)),
        hours(2)
    );
    // 24 business hours = 1 h on Friday + 9 h Monday + 9 h Tuesday + 5 h Wednesday.
    assert_eq!(
        cal.add_working(fri, hours(24)),
        at(Shanghai, 2025, 6, 11, 14, 0)
    );
}

#[test]
fn a_start_outside_hours_starts_at_the_next_opening() {
    let cal = BusinessCalendar::standard(Shanghai);
    let sat = at(Shanghai, 2025, 6, 7, 23, 0);
    assert_eq!(
        cal.add_working(sat, hours(1)),
        at(Shanghai, 2025, 6, 9, 10, 0)
    );
    assert_eq!(cal.add_working(sat, Duration::zero()), sat);
    assert!(!cal.is_working(sat));
}

#[test]
fn lunch_break_of_a_split_day_is_not_counted() {
    let mut spec = CalendarSpec::standard(Shanghai);
    let split = vec![
        WorkInterval::parse("09:00-12:00").unwrap(),
        WorkInterval::parse("13:00-18:00").unwrap(),
    ];
    spec.week[..5].fill(split);
    let cal = spec.build().unwrap();
    let from = at(Shanghai, 2025, 6, 9, 11, 0);
    assert_eq!(
        cal.add_working(from, hours(2)),
        at(Shanghai, 2025, 6, 9, 14, 0)
    );
    assert_eq!(
        cal.working_duration(from, at(Shanghai, 2025, 6, 9, 18, 0)),
        hours(6)
    );
    assert!(!cal.is_working(at(Shanghai, 2025, 6, 9, 12, 30)));
    // Exactly at the end of the morning: the break, and the hour is reached at 12:00 sharp.
    assert!(!cal.is_working(at(Shanghai, 2025, 6, 9, 12, 0)));
    assert_eq!(
        cal.add_working(from, hours(1)),
        at(Shanghai, 2025, 6, 9, 12, 0)
    );
}

#[test]
fn national_day_holidays_and_make_up_weekend_days() {
    // 2025: 1–8 October off; Sunday 28 September and Saturday 11 October worked (调休).
    let mut spec = CalendarSpec::standard(Shanghai);
    spec.holidays = (1..=8).map(|d| date(2025, 10, d)).collect();
    spec.makeup_days = [date(2025, 9, 28), date(2025, 10, 11)].into();
    let cal = spec.build().unwrap();
    assert!(cal.is_working(at(Shanghai, 2025, 9, 28, 10, 0)));
    assert!(!cal.is_working(at(Shanghai, 2025, 10, 1, 10, 0)));
    assert!(cal.is_working(at(Shanghai, 2025, 10, 11, 10, 0)));
    // Tuesday 30 Sep 17:00 + 2 h: one hour that day, the next on Thursday 9 October.
    let tue = at(Shanghai, 2025, 9, 30, 17, 0);
    assert_eq!(
        cal.add_working(tue, hours(2)),
        at(Shanghai, 2025, 10, 9, 10, 0)
    );
    // A whole holiday counts nothing.
    assert_eq!(
        cal.working_duration(
            at(Shanghai, 2025, 10, 2, 0, 0),
            at(Shanghai, 2025, 10, 3, 0, 0)
        ),
        Duration::zero()
    );
    // Friday 26 Sep 17:00 + 2 h lands on the make-up Sunday.
    assert_eq!(
        cal.add_working(at(Shanghai, 2025, 9, 26, 17, 0), hours(2)),
        at(Shanghai, 2025, 9, 28, 10, 0)
    );
}

#[test]
fn new_york_business_hours_across_spring_forward() {
    // Clocks go 02:00 → 03:00 on Sunday 9 March 2025; 09:00–18:00 is untouched in local
    // time, but Monday's opening is an hour earlier in UTC.
    let cal = BusinessCalendar::standard(New_York);
    let fri = at(New_York, 2025, 3, 7, 17, 0);
    assert_eq!(fri, utc(2025, 3, 7, 22, 0));
    let due = cal.add_working(fri, hours(2));
    assert_eq!(due, at(New_York, 2025, 3, 10, 10, 0));
    assert_eq!(due, utc(2025, 3, 10, 14, 0));
    assert_eq!(cal.working_duration(fri, due), hours(2));
}

#[test]
fn new_york_shift_over_the_transition_is_shorter_or_longer() {
    let cal = sunday_only(New_York, WorkInterval::hm(0, 0, 6, 0).unwrap());
    let day = |m, d| {
        cal.working_duration(
            at(New_York, 2025, m, d, 0, 0),
            at(New_York, 2025, m, d, 12, 0),
        )
    };
    assert_eq!(day(3, 9), hours(5), "02:00–03:00 does not exist");
    assert_eq!(day(11, 2), hours(7), "01:00–02:00 happens twice");
    assert_eq!(day(6, 1), hours(6));
    // Both passes of 01:30 on the fall-back night are working time.
    assert!(cal.is_working(utc(2025, 11, 2, 5, 30)));
    assert!(cal.is_working(utc(2025, 11, 2, 6, 30)));
}

#[test]
fn berlin_shift_over_the_transition() {
    // Europe: 02:00 → 03:00 on 30 March 2025, 03:00 → 02:00 on 26 October 2025 (Sundays).
    let cal = sunday_only(Berlin, WorkInterval::hm(1, 0, 4, 0).unwrap());
    let span = |m, d| (at(Berlin, 2025, m, d, 0, 0), at(Berlin, 2025, m, d, 12, 0));
    let (a, b) = span(3, 30);
    assert_eq!(cal.working_duration(a, b), hours(2));
    assert_eq!(cal.add_working(a, hours(2)), at(Berlin, 2025, 3, 30, 4, 0));
    let (a, b) = span(10, 26);
    assert_eq!(cal.working_duration(a, b), hours(4));
    // 01:00 CEST is 23:00 UTC; four real hours later is 04:00 CET = 03:00 UTC.
    assert_eq!(cal.add_working(a, hours(4)), utc(2025, 10, 26, 3, 0));
    // Working interval inside the skipped hour: nothing that day.
    let gap = sunday_only(Berlin, WorkInterval::hm(2, 0, 3, 0).unwrap());
    let (a, b) = span(3, 30);
    assert_eq!(gap.working_duration(a, b), Duration::zero());
}

#[test]
fn round_the_clock_calendar_counts_wall_time() {
    let mut spec = CalendarSpec::standard(New_York);
    spec.week = std::array::from_fn(|_| vec![WorkInterval::hm(0, 0, 24, 0).unwrap()]);
    let cal = spec.build().unwrap();
    let a = utc(2025, 3, 8, 12, 0);
    let b = utc(2025, 3, 10, 12, 0);
    assert_eq!(cal.working_duration(a, b), b - a);
    assert_eq!(cal.add_working(a, b - a), b);
}

#[test]
fn sub_second_instants_are_exact() {
    let cal = BusinessCalendar::standard(Shanghai);
    let a = at(Shanghai, 2025, 6, 9, 10, 0) + Duration::nanoseconds(123);
    let d = Duration::milliseconds(1500);
    assert_eq!(cal.add_working(a, d), a + d);
    assert_eq!(cal.working_duration(a, a + d), d);
}

#[test]
fn intervals_parse_and_print() {
    let iv = WorkInterval::parse(" 09:00 - 18:30 ").unwrap();
    assert_eq!(iv.to_string(), "09:00-18:30");
    assert_eq!(iv.len(), Duration::minutes(570));
    assert_eq!(
        WorkInterval::parse("13:00–24:00").unwrap().end_secs(),
        86_400
    );
    for bad in [
        "18:00-09:00",
        "22:00-06:00",
        "9-18",
        "09:00",
        "09:60-10:00",
        "00:00-24:01",
    ] {
        assert!(WorkInterval::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn invalid_calendars_are_refused_with_the_field() {
    let mut spec = CalendarSpec::standard(Shanghai);
    spec.week[1] = vec![
        WorkInterval::parse("09:00-12:00").unwrap(),
        WorkInterval::parse("11:00-18:00").unwrap(),
    ];
    assert_eq!(spec.build().unwrap_err().field, "calendar.hours.tue");

    let mut spec = CalendarSpec::standard(Shanghai);
    spec.week = Default::default();
    assert_eq!(spec.build().unwrap_err().field, "calendar.hours");

    let mut spec = CalendarSpec::standard(Shanghai);
    spec.holidays.insert(date(2025, 10, 1));
    spec.makeup_days.insert(date(2025, 10, 1));
    assert_eq!(spec.build().unwrap_err().field, "calendar.makeup_workdays");
}

#[test]
fn the_day_memo_changes_no_answer() {
    // One calendar answers a year of deadlines with its memo warming up; a fresh clone (an
    // empty memo) answers each one cold. New York for its transitions, with a holiday.
    let mut spec = CalendarSpec::standard(New_York);
    spec.holidays.insert(date(2025, 7, 4));
    let warm = spec.build().unwrap();
    assert_eq!(warm, warm.clone(), "the memo is no part of the value");
    let mut t = utc(2025, 1, 1, 3, 17);
    while t < utc(2026, 1, 1, 0, 0) {
        for h in [1, 8, 24, 40] {
            let cold = warm.clone();
            assert_eq!(
                warm.add_working(t, hours(h)),
                cold.add_working(t, hours(h)),
                "{t} + {h} h"
            );
        }
        assert_eq!(warm.is_working(t), warm.clone().is_working(t), "{t}");
        t += Duration::minutes(7 * 60 + 13);
    }
}
