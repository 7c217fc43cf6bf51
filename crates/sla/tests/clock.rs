//! Given-when-then tests of SLA clocks: each shipped default, stops, late facts, at-risk
//! thresholds and determinism. The tenant works Monday–Friday 09:00–18:00 in Shanghai;
//! Monday 9 June 2025 starts the week.

mod common;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Asia::Shanghai;
use common::*;
use leadledger_domain::event::Segment;
use leadledger_domain::{fold, Event};
use leadledger_sla::policy::Scope;
use leadledger_sla::{evaluate, BusinessCalendar, Clock, ClockState, EventKind, PolicySet};
use proptest::prelude::*;

fn set() -> PolicySet {
    let mut s = PolicySet::defaults();
    s.calendar = BusinessCalendar::standard(Shanghai);
    s
}

fn clocks_with(set: &PolicySet, events: &[Event], now: DateTime<Utc>) -> Vec<Clock> {
    evaluate(&set.policies, &set.calendar, events, &fold(events), now)
}

fn clocks(events: &[Event], now: DateTime<Utc>) -> Vec<Clock> {
    clocks_with(&set(), events, now)
}

/// The single clock of a policy.
fn one(events: &[Event], now: DateTime<Utc>, policy: &str) -> Clock {
    let mut cs: Vec<Clock> = clocks(events, now)
        .into_iter()
        .filter(|c| c.policy_id == policy)
        .collect();
    assert_eq!(cs.len(), 1, "{policy}: {cs:#?}");
    cs.remove(0)
}

fn mon_10() -> DateTime<Utc> {
    sh(2025, 6, 9, 10, 0)
}

fn base() -> Vec<Event> {
    vec![
        ev(
            1,
            sh(2025, 6, 9, 9, 30),
            captured(Segment::Ka, "华东", "webinar"),
        ),
        ev(2, mon_10(), mql()),
    ]
}

fn with(mut events: Vec<Event>, more: impl IntoIterator<Item = Event>) -> Vec<Event> {
    events.extend(more);
    events
}

// --- mql-follow-up: 24 business hours -------------------------------------------------------

#[test]
fn follow_up_due_after_24_business_hours_and_met_in_time() {
    // Given an MQL on Monday 10:00 (8 h left that day, then 9 h a day)
    // When sales follows up on Wednesday 15:00
    let events = with(base(), [ev(3, sh(2025, 6, 11, 15, 0), follow_up())]);
    let c = one(&events, sh(2025, 6, 20, 0, 0), "mql-follow-up");
    // Then the clock was due Wednesday 16:00 and is met.
    assert_eq!(c.started_at, mon_10());
    assert_eq!(c.start_event_id, uuid::Uuid::from_u128(2));
    assert_eq!(c.due_at, sh(2025, 6, 11, 16, 0));
    assert_eq!(c.at_risk_at, sh(2025, 6, 11, 11, 12), "80 % = 19 h 12 min");
    assert_eq!(
        c.state,
        ClockState::Met {
            at: sh(2025, 6, 11, 15, 0)
        }
    );
    assert_eq!(c.end_event_id, Some(uuid::Uuid::from_u128(3)));
    assert_eq!(c.policy_version, 1);
}

#[test]
fn follow_up_goes_open_at_risk_breached_as_now_advances() {
    // Given an MQL and no follow-up
    let events = base();
    let state = |now| one(&events, now, "mql-follow-up").state;
    // Then the clock is open until 80 % of the allowance, at risk until due, then breached.
    assert_eq!(state(sh(2025, 6, 11, 11, 11)), ClockState::Open);
    assert_eq!(state(sh(2025, 6, 11, 11, 12)), ClockState::AtRisk);
    assert_eq!(
        state(sh(2025, 6, 11, 16, 0)),
        ClockState::AtRisk,
        "due is inclusive"
    );
    assert_eq!(
        state(sh(2025, 6, 11, 16, 0) + Duration::seconds(1)),
        ClockState::Breached {
            at: sh(2025, 6, 11, 16, 0)
        }
    );
}

#[test]
fn a_hand_off_after_the_mql_does_not_restart_the_follow_up_clock() {
    // Given an MQL and, two hours later, a hand-off to a rep
    let events = with(
        base(),
        [ev(3, sh(2025, 6, 9, 12, 0), handed_to_team("east", "r1"))],
    );
    // Then one follow-up clock runs, from the MQL.
    let c = one(&events, sh(2025, 6, 10, 0, 0), "mql-follow-up");
    assert_eq!(c.started_at, mon_10());
}

#[test]
fn a_hand_off_alone_opens_the_follow_up_clock() {
    let events = vec![ev(3, sh(2025, 6, 13, 17, 0), handed_to_team("east", "r1"))];
    let c = one(&events, sh(2025, 6, 13, 17, 0), "mql-follow-up");
    // Friday 17:00: 1 h, then Monday, Tuesday 9 h each, Wednesday 5 h.
    assert_eq!(c.due_at, sh(2025, 6, 18, 14, 0));
    assert_eq!(c.state, ClockState::Open);
}

// --- mql-accept-reject: 48 business hours ---------------------------------------------------

#[test]
fn accept_or_reject_within_48_business_hours() {
    // Given an MQL on Monday 10:00
    // When sales rejects it the next Monday 12:00
    let events = with(base(), [ev(3, sh(2025, 6, 16, 12, 0), rejected())]);
    let c = one(&events, sh(2025, 6, 30, 0, 0), "mql-accept-reject");
    // Then it was due next Monday 13:00 (8 + 4 × 9 + 4 h) and is met.
    assert_eq!(c.due_at, sh(2025, 6, 16, 13, 0));
    assert_eq!(c.at_risk_at, sh(2025, 6, 13, 12, 24));
    assert!(matches!(c.state, ClockState::Met { .. }));
}

#[test]
fn acceptance_after_the_due_time_is_met_late() {
    let events = with(base(), [ev(3, sh(2025, 6, 16, 14, 0), accepted("r1"))]);
    let c = one(&events, sh(2025, 6, 30, 0, 0), "mql-accept-reject");
    assert_eq!(
        c.state,
        ClockState::MetLate {
            at: sh(2025, 6, 16, 14, 0),
            breached_at: sh(2025, 6, 16, 13, 0)
        }
    );
}

// --- partner-accept: 48 hours of wall time ---------------------------------------------------

#[test]
fn partner_accepts_within_48_hours_over_a_weekend() {
    // Given a hand-off to a partner on Friday 17:00
    let handed = sh(2025, 6, 13, 17, 0);
    let events = with(
        base(),
        [
            ev(3, handed, handed_to_partner("p-acme")),
            // When the partner accepts on Sunday 16:00 (47 h later, wall time)
            ev(4, handed + Duration::hours(47), accepted("")),
        ],
    );
    let c = one(&events, handed + Duration::days(5), "partner-accept");
    // Then the clock ran 48 h of wall time and is met.
    assert_eq!(c.due_at, handed + Duration::hours(48));
    assert_eq!(c.at_risk_at, handed + Duration::minutes(48 * 48));
    assert!(matches!(c.state, ClockState::Met { .. }));
}

#[test]
fn partner_acceptance_after_48_hours_is_met_late_and_internal_hand_offs_open_no_partner_clock() {
    let handed = sh(2025, 6, 13, 17, 0);
    let events = with(
        base(),
        [
            ev(3, handed, handed_to_partner("p-acme")),
            ev(4, handed + Duration::hours(50), accepted("")),
        ],
    );
    let c = one(&events, handed + Duration::days(5), "partner-accept");
    assert!(matches!(c.state, ClockState::MetLate { .. }));

    let internal = with(base(), [ev(3, handed, handed_to_team("east", "r1"))]);
    assert!(clocks(&internal, handed + Duration::days(5))
        .iter()
        .all(|c| c.policy_id != "partner-accept"));
}

#[test]
fn an_acceptance_by_a_team_after_the_partner_was_replaced_does_not_meet_the_partner_clock() {
    let handed = sh(2025, 6, 13, 17, 0);
    let events = with(
        base(),
        [
            ev(3, handed, handed_to_partner("p-acme")),
            ev(4, handed + Duration::hours(1), handed_to_team("east", "r1")),
            ev(5, handed + Duration::hours(2), accepted("r1")),
        ],
    );
    let c = one(&events, handed + Duration::hours(10), "partner-accept");
    assert_eq!(c.state, ClockState::Open);
}

// --- sql-poc-start: 30 days; poc-decision: 45 days ------------------------------------------

#[test]
fn poc_starts_within_30_days_of_sql_or_late() {
    let sql = sh(2025, 6, 10, 11, 0);
    let on_time = with(
        base(),
        [
            ev(3, sql, accepted("r1")),
            ev(4, sql + Duration::days(29), poc_started()),
        ],
    );
    let c = one(&on_time, sql + Duration::days(60), "sql-poc-start");
    assert_eq!(c.due_at, sql + Duration::days(30));
    assert!(matches!(c.state, ClockState::Met { .. }));

    let late = with(
        base(),
        [
            ev(3, sql, accepted("r1")),
            ev(4, sql + Duration::days(31), poc_started()),
        ],
    );
    let c = one(&late, sql + Duration::days(60), "sql-poc-start");
    assert_eq!(
        c.state,
        ClockState::MetLate {
            at: sql + Duration::days(31),
            breached_at: sql + Duration::days(30)
        }
    );
}

#[test]
fn signing_without_a_poc_stops_the_poc_start_clock() {
    let sql = sh(2025, 6, 10, 11, 0);
    let events = with(
        base(),
        [
            ev(3, sql, accepted("r1")),
            ev(4, sql + Duration::days(10), signed()),
        ],
    );
    let c = one(&events, sql + Duration::days(60), "sql-poc-start");
    assert_eq!(
        c.state,
        ClockState::Stopped {
            at: sql + Duration::days(10),
            reason: EventKind::Signed,
            breached_at: None
        }
    );
}

#[test]
fn poc_decision_within_45_days() {
    let poc = sh(2025, 6, 20, 10, 0);
    let events = with(
        base(),
        [
            ev(3, sh(2025, 6, 10, 11, 0), accepted("r1")),
            ev(4, poc, poc_started()),
        ],
    );
    let open = one(&events, poc + Duration::days(30), "poc-decision");
    assert_eq!(open.due_at, poc + Duration::days(45));
    assert_eq!(open.state, ClockState::Open);
    assert_eq!(
        one(&events, poc + Duration::days(36), "poc-decision").state,
        ClockState::AtRisk
    );
    let done = with(events, [ev(5, poc + Duration::days(44), poc_completed())]);
    assert!(matches!(
        one(&done, poc + Duration::days(60), "poc-decision").state,
        ClockState::Met { .. }
    ));
}

// --- stops ----------------------------------------------------------------------------------

#[test]
fn recycling_stops_every_running_clock() {
    // Given an MQL, when the lead is recycled on Tuesday
    let at = sh(2025, 6, 10, 10, 0);
    let events = with(base(), [ev(3, at, recycled())]);
    let cs = clocks(&events, sh(2025, 7, 1, 0, 0));
    // Then both MQL clocks stopped, unbreached.
    assert_eq!(cs.len(), 2);
    for c in cs {
        assert_eq!(
            c.state,
            ClockState::Stopped {
                at,
                reason: EventKind::Recycled,
                breached_at: None
            }
        );
    }
}

#[test]
fn disqualifying_after_the_due_time_keeps_the_breach() {
    let at = sh(2025, 6, 12, 10, 0);
    let events = with(base(), [ev(3, at, disqualified())]);
    let c = one(&events, sh(2025, 7, 1, 0, 0), "mql-follow-up");
    assert_eq!(
        c.state,
        ClockState::Stopped {
            at,
            reason: EventKind::Disqualified,
            breached_at: Some(sh(2025, 6, 11, 16, 0))
        }
    );
    assert_eq!(c.state.breached_at(), Some(sh(2025, 6, 11, 16, 0)));
}

#[test]
fn a_lead_qualified_again_after_recycling_gets_a_new_clock() {
    let events = with(
        base(),
        [
            ev(3, sh(2025, 6, 10, 10, 0), recycled()),
            ev(4, sh(2025, 8, 4, 10, 0), mql()),
        ],
    );
    let cs: Vec<Clock> = clocks(&events, sh(2025, 8, 4, 12, 0))
        .into_iter()
        .filter(|c| c.policy_id == "mql-follow-up")
        .collect();
    assert_eq!(cs.len(), 2);
    assert!(matches!(cs[0].state, ClockState::Stopped { .. }));
    assert_eq!(cs[1].started_at, sh(2025, 8, 4, 10, 0));
    assert_eq!(cs[1].state, ClockState::Open);
}

// --- late facts -----------------------------------------------------------------------------

#[test]
fn a_follow_up_that_happened_in_time_but_arrived_late_is_met() {
    // Given a breached follow-up clock (nothing known on Thursday)
    let thursday = sh(2025, 6, 12, 10, 0);
    assert!(matches!(
        one(&base(), thursday, "mql-follow-up").state,
        ClockState::Breached { .. }
    ));
    // When a follow-up that occurred Wednesday 15:00 is recorded on Thursday
    let events = with(
        base(),
        [ev_late(3, sh(2025, 6, 11, 15, 0), thursday, follow_up())],
    );
    // Then business time wins: met, and the late recording shows.
    let c = one(&events, thursday, "mql-follow-up");
    assert_eq!(
        c.state,
        ClockState::Met {
            at: sh(2025, 6, 11, 15, 0)
        }
    );
    assert_eq!(c.end_recorded_at, Some(thursday));
    assert!(c.end_recorded_at.unwrap() > c.due_at);
}

#[test]
fn a_late_fact_that_happened_after_the_due_time_turns_the_breach_into_met_late() {
    let events = with(
        base(),
        [ev_late(
            3,
            sh(2025, 6, 11, 17, 0),
            sh(2025, 6, 13, 9, 0),
            follow_up(),
        )],
    );
    let c = one(&events, sh(2025, 6, 13, 9, 0), "mql-follow-up");
    assert_eq!(
        c.state,
        ClockState::MetLate {
            at: sh(2025, 6, 11, 17, 0),
            breached_at: sh(2025, 6, 11, 16, 0)
        }
    );
}

#[test]
fn a_target_before_the_start_does_not_meet_the_clock() {
    // A follow-up logged before the MQL (e.g. a BDR call) does not count.
    let events = with(base(), [ev(3, sh(2025, 6, 9, 9, 45), follow_up())]);
    assert_eq!(
        one(&events, sh(2025, 6, 9, 12, 0), "mql-follow-up").state,
        ClockState::Open
    );
}

#[test]
fn facts_after_now_are_not_seen_so_history_replays() {
    let events = with(base(), [ev(3, sh(2025, 6, 11, 17, 0), follow_up())]);
    // Evaluated before the follow-up happened: breached; after: met late.
    assert!(matches!(
        one(&events, sh(2025, 6, 11, 16, 30), "mql-follow-up").state,
        ClockState::Breached { .. }
    ));
    assert!(matches!(
        one(&events, sh(2025, 6, 11, 17, 0), "mql-follow-up").state,
        ClockState::MetLate { .. }
    ));
    // And before the MQL there is no clock at all.
    assert!(clocks(&events, sh(2025, 6, 9, 9, 59)).is_empty());
}

// --- thresholds and scope -------------------------------------------------------------------

#[test]
fn at_risk_share_is_configurable() {
    let mut s = set();
    for p in &mut s.policies {
        p.at_risk_share = 0.5;
    }
    let c = clocks_with(&s, &base(), mon_10())
        .into_iter()
        .find(|c| c.policy_id == "mql-follow-up")
        .unwrap();
    // 12 business hours from Monday 10:00: 8 h Monday, 4 h Tuesday.
    assert_eq!(c.at_risk_at, sh(2025, 6, 10, 13, 0));
    let full = {
        let mut s = set();
        s.policies[0].at_risk_share = 1.0;
        clocks_with(&s, &base(), mon_10())
            .into_iter()
            .find(|c| c.policy_id == "mql-follow-up")
            .unwrap()
    };
    assert_eq!(full.at_risk_at, full.due_at);
}

#[test]
fn a_policy_scoped_to_smb_opens_no_clock_on_a_ka_lead() {
    let mut s = set();
    s.policies[0].scope = Scope {
        segments: vec![Segment::Smb],
        ..Scope::default()
    };
    s.policies[1].scope = Scope {
        regions: vec!["华东".into()],
        channels: vec!["Webinar".into()],
        ..Scope::default()
    };
    let ids: Vec<String> = clocks_with(&s, &base(), mon_10())
        .into_iter()
        .map(|c| c.policy_id)
        .collect();
    assert_eq!(ids, vec!["mql-accept-reject"]);
}

// --- determinism ----------------------------------------------------------------------------

fn timeline() -> Vec<Event> {
    with(
        base(),
        [
            ev(3, sh(2025, 6, 9, 11, 0), handed_to_partner("p1")),
            ev(4, sh(2025, 6, 9, 11, 0), handed_to_team("east", "r1")),
            ev(5, sh(2025, 6, 10, 9, 0), accepted("r1")),
            ev_late(
                6,
                sh(2025, 6, 11, 10, 0),
                sh(2025, 6, 20, 0, 0),
                follow_up(),
            ),
            ev(7, sh(2025, 6, 20, 10, 0), poc_started()),
            ev(8, sh(2025, 7, 1, 10, 0), recycled()),
            ev(9, sh(2025, 7, 20, 10, 0), mql()),
        ],
    )
}

proptest! {
    #[test]
    fn same_clocks_whatever_the_arrival_order_and_duplicates(
        order in Just(timeline()).prop_shuffle(),
        dup in prop::collection::vec(0usize..9, 0..4),
        now_days in 0i64..60,
    ) {
        let now = sh(2025, 6, 9, 0, 0) + Duration::days(now_days);
        let mut shuffled = order.clone();
        for i in dup {
            shuffled.push(order[i].clone());
        }
        prop_assert_eq!(clocks(&shuffled, now), clocks(&timeline(), now));
    }
}

#[test]
fn facts_the_fold_skips_open_no_clock() {
    // A newer schema version (or an unknown payload) is kept in the log but not folded.
    let mut newer = ev(2, mon_10(), mql());
    newer.schema_version = leadledger_domain::SCHEMA_VERSION + 1;
    let unknown = ev(
        3,
        mon_10(),
        leadledger_domain::Payload::Unknown {
            event_type: "mql_qualified_v2".into(),
        },
    );
    assert!(clocks(&[newer, unknown], sh(2025, 6, 10, 0, 0)).is_empty());
}
