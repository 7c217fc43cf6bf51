//! Paused clocks (docs/SLA.md, "Paused clocks"): given-when-then cases on the shipped
//! `mql-follow-up` policy (24 business hours, Shanghai, Monday–Friday 09:00–18:00), and a
//! property test of `evaluate` against a reference that walks the clock minute by minute.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Asia::Shanghai;
use common::*;
use leadledger_domain::event::EscalationTrigger;
use leadledger_domain::event::{ClockPause, ClockResume, Segment};
use leadledger_domain::{fold, Event, Payload};
use leadledger_sla::escalation::{EscalationStep, NextEscalation, Recipient};
use leadledger_sla::policy::{Scope, Trigger};
use leadledger_sla::{
    evaluate, BusinessCalendar, Clock, ClockState, EventKind, PolicySet, SlaPolicy,
};
use proptest::prelude::*;

fn pause(ids: &[&str]) -> Payload {
    Payload::ClockPaused(ClockPause {
        reason: 1,
        note: "waiting for the customer's IT review".into(),
        policy_ids: ids.iter().map(|s| s.to_string()).collect(),
        by: "r1".into(),
    })
}

fn resume(ids: &[&str]) -> Payload {
    Payload::ClockResumed(ClockResume {
        policy_ids: ids.iter().map(|s| s.to_string()).collect(),
        ..ClockResume::default()
    })
}

fn follow_up_clock(events: &[Event], now: DateTime<Utc>) -> Clock {
    let mut set = PolicySet::defaults();
    set.calendar = BusinessCalendar::standard(Shanghai);
    let mut cs: Vec<Clock> = evaluate(&set.policies, &set.calendar, events, &fold(events), now)
        .into_iter()
        .filter(|c| c.policy_id == "mql-follow-up")
        .collect();
    assert_eq!(cs.len(), 1, "{cs:#?}");
    cs.remove(0)
}

/// Captured Monday 9 June 2025, MQL at 10:00: due Wednesday 16:00 (8 + 9 + 7 hours).
fn mql_monday(more: impl IntoIterator<Item = Event>) -> Vec<Event> {
    let mut v = vec![
        ev(
            1,
            sh(2025, 6, 9, 9, 30),
            captured(Segment::Ka, "华东", "webinar"),
        ),
        ev(2, sh(2025, 6, 9, 10, 0), mql()),
    ];
    v.extend(more);
    v
}

#[test]
fn a_paused_day_moves_the_due_time_by_that_days_working_hours() {
    let unpaused = follow_up_clock(&mql_monday([]), sh(2025, 6, 9, 11, 0));
    assert_eq!(unpaused.due_at, sh(2025, 6, 11, 16, 0));
    // Tuesday is paused from 09:00 to Wednesday 09:00: Tuesday's 9 hours do not count.
    let events = mql_monday([
        ev(3, sh(2025, 6, 10, 9, 0), pause(&[])),
        ev(4, sh(2025, 6, 11, 9, 0), resume(&[])),
    ]);
    let c = follow_up_clock(&events, sh(2025, 6, 11, 10, 0));
    assert_eq!(c.due_at, sh(2025, 6, 12, 16, 0));
    // 80 % of 24 h = 19.2 h: Monday 8 h, Wednesday 9 h, Thursday 2.2 h.
    assert_eq!(c.at_risk_at, sh(2025, 6, 12, 11, 12));
    assert_eq!(c.state, ClockState::Open);
    // Without the pause it would be breached on Thursday; with it, it is at risk.
    let c = follow_up_clock(&events, sh(2025, 6, 12, 12, 0));
    assert_eq!(c.state, ClockState::AtRisk);
    assert_eq!(
        follow_up_clock(&events, sh(2025, 6, 12, 16, 1)).state,
        ClockState::Breached {
            at: sh(2025, 6, 12, 16, 0)
        }
    );
}

#[test]
fn while_paused_the_clock_neither_turns_at_risk_nor_breaches_and_a_target_meets_it() {
    let events = mql_monday([ev(3, sh(2025, 6, 10, 9, 0), pause(&["mql-follow-up"]))]);
    for now in [
        sh(2025, 6, 10, 9, 0),
        sh(2025, 6, 12, 0, 0),
        sh(2025, 9, 1, 0, 0),
    ] {
        let c = follow_up_clock(&events, now);
        assert_eq!(
            c.state,
            ClockState::Paused {
                since: sh(2025, 6, 10, 9, 0)
            },
            "{now}"
        );
        assert_eq!(
            c.due_at,
            sh(2025, 6, 11, 16, 0),
            "the due time it had when paused"
        );
    }
    // Before the pause it ran as usual.
    assert_eq!(
        follow_up_clock(&events, sh(2025, 6, 9, 12, 0)).state,
        ClockState::Open
    );
    // A follow-up a month later, still paused: met.
    let met = mql_monday([
        ev(3, sh(2025, 6, 10, 9, 0), pause(&[])),
        ev(4, sh(2025, 7, 10, 9, 0), follow_up()),
    ]);
    let c = follow_up_clock(&met, sh(2025, 8, 1, 0, 0));
    assert_eq!(
        c.state,
        ClockState::Met {
            at: sh(2025, 7, 10, 9, 0)
        }
    );
    // Its due time moved by the pause up to the follow-up: never before a timely end.
    assert!(c.due_at > sh(2025, 7, 10, 9, 0), "{c:?}");
}

#[test]
fn a_pause_after_the_due_time_does_not_undo_the_breach() {
    let events = mql_monday([
        ev(3, sh(2025, 6, 11, 17, 0), pause(&[])),
        ev(4, sh(2025, 6, 13, 9, 0), resume(&[])),
    ]);
    let breached = ClockState::Breached {
        at: sh(2025, 6, 11, 16, 0),
    };
    assert_eq!(
        follow_up_clock(&events, sh(2025, 6, 12, 9, 0)).state,
        breached
    );
    assert_eq!(
        follow_up_clock(&events, sh(2025, 6, 16, 9, 0)).state,
        breached
    );
}

#[test]
fn a_pause_of_another_policy_leaves_the_clock_alone() {
    let events = mql_monday([ev(3, sh(2025, 6, 10, 9, 0), pause(&["poc-decision"]))]);
    let c = follow_up_clock(&events, sh(2025, 6, 11, 17, 0));
    assert_eq!(
        c.state,
        ClockState::Breached {
            at: sh(2025, 6, 11, 16, 0)
        }
    );
}

#[test]
fn a_clock_opened_while_paused_starts_paused_and_counts_from_the_resume() {
    // Paused on Friday before the MQL; resumed Tuesday 09:00: due Thursday 15:00 (9+9+6).
    let events = vec![
        ev(
            1,
            sh(2025, 6, 6, 9, 30),
            captured(Segment::Ka, "华东", "webinar"),
        ),
        ev(2, sh(2025, 6, 6, 10, 0), pause(&[])),
        ev(3, sh(2025, 6, 9, 10, 0), mql()),
        ev(4, sh(2025, 6, 10, 9, 0), resume(&[])),
    ];
    assert_eq!(
        follow_up_clock(&events, sh(2025, 6, 9, 17, 0)).state,
        ClockState::Paused {
            since: sh(2025, 6, 9, 10, 0)
        }
    );
    let c = follow_up_clock(&events, sh(2025, 6, 10, 10, 0));
    assert_eq!(c.due_at, sh(2025, 6, 12, 15, 0));
    assert_eq!(c.state, ClockState::Open);
}

#[test]
fn a_second_pause_and_a_resume_without_a_pause_change_nothing() {
    let once = mql_monday([
        ev(3, sh(2025, 6, 10, 9, 0), pause(&[])),
        ev(5, sh(2025, 6, 11, 9, 0), resume(&[])),
    ]);
    let noisy = mql_monday([
        ev(10, sh(2025, 6, 9, 11, 0), resume(&[])),
        ev(3, sh(2025, 6, 10, 9, 0), pause(&[])),
        ev(4, sh(2025, 6, 10, 15, 0), pause(&["mql-follow-up"])),
        ev(5, sh(2025, 6, 11, 9, 0), resume(&[])),
        ev(6, sh(2025, 6, 11, 10, 0), resume(&["mql-follow-up"])),
    ]);
    let now = sh(2025, 6, 13, 0, 0);
    let (a, b) = (follow_up_clock(&once, now), follow_up_clock(&noisy, now));
    assert_eq!(
        (a.due_at, a.at_risk_at, a.state),
        (b.due_at, b.at_risk_at, b.state)
    );
    assert_eq!(a.due_at, sh(2025, 6, 12, 16, 0));
}

// --- Property: evaluate against a minute-by-minute walk -------------------------------------

const POLICY: &str = "p";

/// One generated case: a policy, the pause facts (minutes from the start; `Some(true)` pause,
/// `Some(false)` resume; the names), a target, and `now`.
#[derive(Debug, Clone)]
struct Case {
    allowance_h: i64,
    business_time: bool,
    share: f64,
    start: DateTime<Utc>,
    facts: BTreeMap<i64, (bool, Vec<&'static str>)>,
    target: Option<i64>,
    now: i64,
    /// The policy's one escalation step: this many minutes after the due time.
    after_min: i64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        1i64..30,
        any::<bool>(),
        prop::sample::select(vec![0.5, 0.75, 1.0]),
        0i64..7 * 24 * 60,
        prop::collection::btree_map(
            -2 * 24 * 60..12 * 24 * 60i64,
            (
                any::<bool>(),
                prop::sample::select(vec![vec![], vec![POLICY], vec!["other"]]),
            ),
            0..8,
        ),
        prop::option::of(1i64..14 * 24 * 60),
        0i64..16 * 24 * 60,
        0i64..3 * 24 * 60,
    )
        .prop_map(
            |(allowance_h, business_time, share, start, mut facts, target, now, after_min)| {
                // One fact per minute, none at the start or the target (ties are ordered by
                // event id, which the walk below does not model).
                facts.remove(&0);
                if let Some(t) = target {
                    facts.remove(&t);
                }
                Case {
                    allowance_h,
                    business_time,
                    share,
                    start: sh(2025, 6, 9, 0, 0) + Duration::minutes(start),
                    facts,
                    target,
                    now,
                    after_min,
                }
            },
        )
}

fn policy(c: &Case) -> SlaPolicy {
    SlaPolicy {
        id: POLICY.into(),
        version: 1,
        name: POLICY.into(),
        start: Trigger::of(&[EventKind::MqlQualified]),
        target: Trigger::of(&[EventKind::FollowUpLogged]),
        allowance: Duration::hours(c.allowance_h),
        business_time: c.business_time,
        at_risk_share: c.share,
        scope: Scope::default(),
        stop_on: vec![],
        escalation: vec![EscalationStep {
            id: "late".into(),
            trigger: EscalationTrigger::Breached,
            after: Duration::minutes(c.after_min),
            notify: vec![Recipient::Manager],
            reassign: None,
        }],
    }
}

fn events(c: &Case) -> Vec<Event> {
    let at = |m: i64| c.start + Duration::minutes(m);
    let mut v = vec![
        ev(1, at(-3 * 24 * 60), captured(Segment::Smb, "华北", "seo")),
        ev(2, c.start, mql()),
    ];
    for (i, (m, (is_pause, names))) in c.facts.iter().enumerate() {
        let p = if *is_pause {
            pause(names)
        } else {
            resume(names)
        };
        v.push(ev(10 + i as u128, at(*m), p));
    }
    if let Some(t) = c.target {
        v.push(ev(3, at(t), follow_up()));
    }
    v
}

/// Minute by minute from the start: the minutes counted (not paused, and working for a
/// business-time policy) until the at-risk and due amounts are reached, with the pause facts
/// at or before `until` minutes (those naming `p` or every policy); `before`: only the facts
/// before that minute.
/// `None` for a threshold not reached before the clock pauses for good.
fn walk(c: &Case, until: i64, before: Option<i64>) -> (Option<i64>, Option<i64>) {
    walk_to(c, until, before, c.allowance_h * 60)
}

/// [`walk`] to `allowance` counted minutes (the due amount, or an escalation step's).
fn walk_to(
    c: &Case,
    until: i64,
    before: Option<i64>,
    allowance: i64,
) -> (Option<i64>, Option<i64>) {
    let cal = BusinessCalendar::standard(Shanghai);
    let facts: Vec<(i64, bool)> = c
        .facts
        .iter()
        .filter(|(m, (_, names))| {
            **m <= until
                && before.is_none_or(|b| **m < b)
                && (names.is_empty() || names.contains(&POLICY))
        })
        .map(|(m, (p, _))| (*m, *p))
        .collect();
    let at_risk = (c.allowance_h as f64 * 60.0 * c.share).round() as i64;
    let mut paused = false;
    for (_, p) in facts.iter().filter(|(m, _)| *m < 0) {
        paused = *p;
    }
    let (mut counted, mut found_risk, mut found_due) = (0, None, None);
    let last_fact = facts.last().map_or(0, |f| f.0);
    let mut m = 0;
    loop {
        if let Some((_, p)) = facts.iter().find(|f| f.0 == m) {
            paused = *p;
        }
        if counted >= at_risk && found_risk.is_none() {
            found_risk = Some(m);
        }
        if counted >= allowance {
            found_due = Some(m);
            return (found_risk, found_due);
        }
        if paused && m >= last_fact {
            return (found_risk, found_due);
        }
        let t = c.start + Duration::minutes(m);
        if !paused && (!c.business_time || cal.is_working(t)) {
            counted += 1;
        }
        m += 1;
    }
}

/// The clock's state by the walk, and the thresholds it should show.
fn expected(c: &Case) -> (ClockState, Option<(i64, i64)>) {
    let at = |m: i64| c.start + Duration::minutes(m);
    if let Some(t) = c.target.filter(|t| *t <= c.now) {
        let (_, due) = walk(c, t, None);
        return match due {
            Some(d) if d < t => (
                ClockState::MetLate {
                    at: at(t),
                    breached_at: at(d),
                },
                None,
            ),
            _ => (ClockState::Met { at: at(t) }, None),
        };
    }
    match walk(c, c.now, None) {
        (Some(r), Some(d)) => {
            let state = if d < c.now {
                ClockState::Breached { at: at(d) }
            } else if r <= c.now {
                ClockState::AtRisk
            } else {
                ClockState::Open
            };
            (state, Some((r, d)))
        }
        _ => {
            // Paused for good: since the last pause of `p` (clipped to the start), with the
            // thresholds it had without that pause.
            let since = c
                .facts
                .iter()
                .filter(|(m, (p, names))| {
                    **m <= c.now && *p && (names.is_empty() || names.contains(&POLICY))
                })
                .map(|(m, _)| *m)
                .filter(|m| {
                    // The pause that holds: the first after the last resume.
                    !c.facts.iter().any(|(r, (p, names))| {
                        *r > *m
                            && *r <= c.now
                            && !*p
                            && (names.is_empty() || names.contains(&POLICY))
                    })
                })
                .min()
                .expect("a pause holds");
            let (r, d) = walk(c, c.now, Some(since));
            let thresholds = r.zip(d).expect("unpaused thresholds");
            (
                ClockState::Paused {
                    since: at(since.max(0)),
                },
                Some(thresholds),
            )
        }
    }
}

/// A clock's state at `now` read from its final row the way the report's SQL reads it.
fn row_state_at(c: &Clock, now: DateTime<Utc>) -> &'static str {
    let ended = match &c.state {
        ClockState::Met { at }
        | ClockState::MetLate { at, .. }
        | ClockState::Stopped { at, .. } => Some(*at),
        _ => None,
    };
    match (&c.state, ended) {
        (s, Some(at)) if at <= now => s.as_str(),
        (ClockState::Paused { since }, _) if *since <= now => "paused",
        _ if c.pauses.iter().any(|(from, to)| *from <= now && now < *to) => "paused",
        _ if now > c.due_at => "breached",
        _ if now >= c.at_risk_at => "at_risk",
        _ => "open",
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Random pause patterns (pauses and resumes of this policy, of every policy, of another
    /// one; before the start, doubled, unmatched) give the state and thresholds of the walk.
    #[test]
    fn paused_time_does_not_count(c in case()) {
        let p = policy(&c);
        let cal = BusinessCalendar::standard(Shanghai);
        let evs = events(&c);
        let now = c.start + Duration::minutes(c.now);
        let clocks = evaluate(std::slice::from_ref(&p), &cal, &evs, &fold(&evs), now);
        prop_assert_eq!(clocks.len(), 1);
        let got = &clocks[0];
        let (state, thresholds) = expected(&c);
        prop_assert_eq!(&got.state, &state);
        if let Some((r, d)) = thresholds {
            prop_assert_eq!(got.at_risk_at, c.start + Duration::minutes(r));
            prop_assert_eq!(got.due_at, c.start + Duration::minutes(d));
        }
        // The read models store the clock evaluated over the whole timeline; a report at
        // `now` reads its state from that row alone (sla_reports_clocks_at.sql). It must be
        // the state evaluated at `now`.
        let last = evaluate(
            std::slice::from_ref(&p), &cal, &evs, &fold(&evs), DateTime::<Utc>::MAX_UTC,
        );
        prop_assert_eq!(row_state_at(&last[0], now), state.as_str());
        // The escalation step: due when the walk counts the allowance plus `after`; waiting
        // (no instant) while a pause that began before that lasts; none once the clock ended.
        let step = if state.is_running() {
            let reached = walk_to(&c, c.now, None, c.allowance_h * 60 + c.after_min).1;
            Some(NextEscalation {
                step_id: "late".into(),
                at: reached.map(|m| c.start + Duration::minutes(m)),
            })
        } else {
            None
        };
        prop_assert_eq!(&got.escalation, &step);
    }
}
