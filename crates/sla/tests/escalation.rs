//! Escalation ladders (docs/SLA.md, "Escalation"): the documented example parses, steps are
//! ordered by instant, every mistake names the step and field, a running clock carries its
//! next step until the step's fact is in its timeline, pauses hold steps, and recipients
//! resolve against the roster. (Step instants under random pauses: the property test in
//! `pause.rs`.)

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use leadledger_domain::event::{Escalation, EscalationTrigger, Owner, Segment};
use leadledger_domain::{fold, Event, Payload};
use leadledger_sla::escalation::{recipients, NextEscalation, Reassign, Recipient};
use leadledger_sla::{evaluate, Clock, PolicyError, PolicySet};
use uuid::Uuid;

const EXAMPLE: &str = include_str!("../../../docs/examples/policies-escalation.toml");

fn example() -> PolicySet {
    PolicySet::from_toml(EXAMPLE).unwrap()
}

fn clock(set: &PolicySet, events: &[Event], policy: &str) -> Clock {
    let mut cs: Vec<Clock> = evaluate(
        &set.policies,
        &set.calendar,
        events,
        &fold(events),
        DateTime::<Utc>::MAX_UTC,
    )
    .into_iter()
    .filter(|c| c.policy_id == policy)
    .collect();
    assert_eq!(cs.len(), 1, "{cs:#?}");
    cs.remove(0)
}

/// The fact the SLA worker appends for `step` of the clock opened by event 2.
fn escalated(n: u128, at: DateTime<Utc>, policy: &str, step: &str) -> Event {
    ev(
        n,
        at,
        Payload::SlaEscalated(Escalation {
            policy_id: policy.into(),
            policy_version: 1,
            start_event_id: Uuid::from_u128(2),
            started_at: at,
            due_at: at,
            step_id: step.into(),
            trigger: EscalationTrigger::Breached,
            after_seconds: 0,
            owner: Owner::default(),
            notify: vec![],
            unresolved: vec![],
            reassignment: None,
        }),
    )
}

/// Captured Monday 9 June 2025, MQL at 10:00 (due Wednesday 16:00 in 24 working hours).
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

fn next(step: &str, at: Option<DateTime<Utc>>) -> Option<NextEscalation> {
    Some(NextEscalation {
        step_id: step.into(),
        at,
    })
}

#[test]
fn the_documented_ladder_parses_in_the_order_of_its_instants() {
    let set = example();
    let p = &set.policies[0];
    let ids: Vec<&str> = p.escalation.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["warn", "breached", "reassign"]);
    assert_eq!(p.escalation[2].after, Duration::hours(8));
    assert_eq!(p.escalation[2].reassign, Some(Reassign::NextRep));
    assert_eq!(
        p.escalation[1].notify,
        vec![
            Recipient::Owner,
            Recipient::Manager,
            Recipient::TeamLead,
            Recipient::Named("sales-ops".into())
        ]
    );
    let stale = &set.policies[1];
    assert_eq!(stale.allowance, Duration::days(14));
    assert_eq!(stale.escalation[0].reassign, Some(Reassign::Pool));
    let roster = set.routing.as_ref().unwrap();
    assert_eq!(roster.reps[0].manager, "li.lei");
    assert_eq!(roster.teams[0].lead, "zhao.min");

    // Written out of order, the steps still run in the order of their instants.
    let text = EXAMPLE.replace(
        "  [[policy.escalation]]\n  id = \"warn\"",
        "  [[policy.escalation]]\n  id = \"late-warn\"\n  on = \"at_risk\"\n  after = \"10h\"\n  \
         notify = [\"owner\"]\n\n  [[policy.escalation]]\n  id = \"warn\"",
    );
    let set = PolicySet::from_toml(&text).unwrap();
    let ids: Vec<&str> = set.policies[0]
        .escalation
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    // at risk at 19.2 h; +10 h = 29.2 h, after "breached" (24 h), before "reassign" (32 h).
    assert_eq!(ids, ["warn", "breached", "late-warn", "reassign"]);
}

#[test]
fn a_running_clock_waits_for_each_step_in_turn_until_it_is_met() {
    let set = example();
    // At risk after 19.2 working hours: Wednesday 11:12; due Wednesday 16:00; reassigned 8
    // working hours later: Thursday 15:00.
    let c = clock(&set, &mql_monday([]), "mql-follow-up");
    assert_eq!(c.escalation, next("warn", Some(sh(2025, 6, 11, 11, 12))));
    let c = clock(
        &set,
        &mql_monday([escalated(
            10,
            sh(2025, 6, 11, 11, 12),
            "mql-follow-up",
            "warn",
        )]),
        "mql-follow-up",
    );
    assert_eq!(c.escalation, next("breached", Some(sh(2025, 6, 11, 16, 0))));
    let taken = [
        escalated(10, sh(2025, 6, 11, 11, 12), "mql-follow-up", "warn"),
        escalated(11, sh(2025, 6, 11, 16, 0), "mql-follow-up", "breached"),
    ];
    let c = clock(&set, &mql_monday(taken.clone()), "mql-follow-up");
    assert_eq!(c.escalation, next("reassign", Some(sh(2025, 6, 12, 15, 0))));
    // Another policy's or another clock's step does not count for this one.
    let c = clock(
        &set,
        &mql_monday([escalated(12, sh(2025, 6, 11, 11, 12), "mql-stale", "warn")]),
        "mql-follow-up",
    );
    assert_eq!(c.escalation, next("warn", Some(sh(2025, 6, 11, 11, 12))));
    // Every step taken: nothing left.
    let mut all = taken.to_vec();
    all.push(escalated(
        13,
        sh(2025, 6, 12, 15, 0),
        "mql-follow-up",
        "reassign",
    ));
    assert_eq!(
        clock(&set, &mql_monday(all), "mql-follow-up").escalation,
        None
    );
    // Met (late), the clock takes no more steps.
    let mut met = taken.to_vec();
    met.push(ev(14, sh(2025, 6, 12, 9, 30), follow_up()));
    assert_eq!(
        clock(&set, &mql_monday(met), "mql-follow-up").escalation,
        None
    );
    // The stale-MQL rule: 14 elapsed days after the MQL.
    let c = clock(&set, &mql_monday([]), "mql-stale");
    assert_eq!(
        c.escalation,
        next("back-to-pool", Some(sh(2025, 6, 23, 10, 0)))
    );
}

#[test]
fn a_pause_holds_the_steps_after_it_and_moves_them_by_its_length() {
    let set = example();
    let pause = |n, at| {
        ev(
            n,
            at,
            Payload::ClockPaused(leadledger_domain::event::ClockPause {
                reason: 1,
                note: String::new(),
                policy_ids: vec![],
                by: "wang.fang".into(),
            }),
        )
    };
    let resume = |n, at| ev(n, at, Payload::ClockResumed(Default::default()));
    // Breached Wednesday 16:00 and alerted; paused Wednesday 17:00: the reassignment
    // (Thursday 15:00) waits while the customer holds things up.
    let breached = [
        escalated(10, sh(2025, 6, 11, 11, 12), "mql-follow-up", "warn"),
        escalated(11, sh(2025, 6, 11, 16, 0), "mql-follow-up", "breached"),
    ];
    let mut evs = breached.to_vec();
    evs.push(pause(20, sh(2025, 6, 11, 17, 0)));
    let c = clock(&set, &mql_monday(evs.clone()), "mql-follow-up");
    assert_eq!(c.escalation, next("reassign", None));
    // Resumed Friday 09:00: Thursday's 9 working hours and Wednesday's last hour do not
    // count; 7 of the 8 hours are left: Friday 16:00.
    evs.push(resume(21, sh(2025, 6, 13, 9, 0)));
    let c = clock(&set, &mql_monday(evs), "mql-follow-up");
    assert_eq!(c.escalation, next("reassign", Some(sh(2025, 6, 13, 16, 0))));
    // A pause that begins after a step's instant does not hold it.
    let mut evs = breached.to_vec();
    evs.push(pause(20, sh(2025, 6, 12, 15, 30)));
    let c = clock(&set, &mql_monday(evs), "mql-follow-up");
    assert_eq!(c.escalation, next("reassign", Some(sh(2025, 6, 12, 15, 0))));
}

#[test]
fn recipients_resolve_against_the_owner_and_the_roster() {
    let set = example();
    let roster = set.routing.as_ref();
    let step = &set.policies[0].escalation[1];
    let owner = Owner {
        team: "east-ka".into(),
        rep_id: "wang.fang".into(),
        ..Owner::default()
    };
    assert_eq!(
        recipients(step, &owner, roster),
        (
            vec![
                "owner:wang.fang".to_string(),
                "manager:li.lei".into(),
                "team_lead:zhao.min".into(),
                "sales-ops".into()
            ],
            vec![]
        )
    );
    // A rep without a manager, a team without a lead: said so, the others still told.
    let owner = Owner {
        team: "inside-sales".into(),
        rep_id: "zhao.lei".into(),
        ..Owner::default()
    };
    assert_eq!(
        recipients(step, &owner, roster),
        (
            vec!["owner:zhao.lei".to_string(), "sales-ops".into()],
            vec![
                "manager: rep `zhao.lei` has no manager on the roster".to_string(),
                "team_lead: team `inside-sales` has no lead on the roster".into()
            ]
        )
    );
    // Nobody owns the lead; a partner owns it.
    let (to, missing) = recipients(step, &Owner::default(), roster);
    assert_eq!(to, vec!["sales-ops".to_string()]);
    assert_eq!(missing.len(), 3, "{missing:?}");
    let partner = Owner {
        partner_id: "p-fin".into(),
        ..Owner::default()
    };
    assert_eq!(recipients(step, &partner, roster).0[0], "partner:p-fin");
}

fn refused(text: &str) -> String {
    match PolicySet::from_toml(text) {
        Err(e @ PolicyError::Policy { .. }) => e.to_string(),
        other => panic!("expected a policy error, got {other:?}"),
    }
}

#[test]
fn mistakes_name_the_policy_the_step_and_the_field() {
    let base = |steps: &str| {
        format!(
            "version = 1\n[[policy]]\nid = \"p\"\nstart = [\"mql_qualified\"]\n\
             target = [\"follow_up_logged\"]\nallowance = \"48h\"\nbusiness_time = false\n{steps}"
        )
    };
    let step = |body: &str| base(&format!("[[policy.escalation]]\n{body}\n"));
    for (text, want) in [
        (
            step("id = \"s\"\non = \"late\"\nnotify = [\"owner\"]"),
            "policy `p`: escalation `s`.on: `late` is not a threshold (at_risk, breached)",
        ),
        (
            step("on = \"breached\"\nnotify = [\"owner\"]"),
            "policy `p`: escalation[0].id: required",
        ),
        (
            step("id = \"s\"\non = \"breached\""),
            "policy `p`: escalation `s`.notify: a step must notify someone or reassign the \
             lead (or both)",
        ),
        (
            step("id = \"s\"\non = \"breached\"\nreassign = \"next_rep\""),
            "policy `p`: escalation `s`.reassign: `next_rep` routes by the [routing] section, \
             which this file has not",
        ),
        (
            step("id = \"s\"\non = \"breached\"\nreassign = \"manager\""),
            "policy `p`: escalation `s`.reassign: `manager` is not a reassignment (next_rep, \
             pool)",
        ),
        (
            step("id = \"s\"\non = \"breached\"\nafter = \"soon\"\nnotify = [\"owner\"]"),
            "policy `p`: escalation `s`.after: `soon` is not a duration like \"24h\", \"30d\" \
             or \"1h30m\"",
        ),
        (
            step("id = \"s\"\non = \"breached\"\nnotify = [\"\"]"),
            "policy `p`: escalation `s`.notify[0]: must not be blank",
        ),
        (
            step("id = \"s\"\non = \"breached\"\nnotify = [\"owner\"]\nwho = 1"),
            "policy `p`: escalation `s`.who: unknown key (expected one of: id, on, after, \
             notify, reassign)",
        ),
        (
            base(
                "[[policy.escalation]]\nid = \"s\"\non = \"breached\"\nnotify = [\"owner\"]\n\
                 [[policy.escalation]]\nid = \"s\"\non = \"at_risk\"\nreassign = \"pool\"\n",
            ),
            "policy `p`: escalation `s`.id: is used by another step of this policy",
        ),
        (
            base(
                &"[[policy.escalation]]\nid = \"s\"\non = \"breached\"\nreassign = \"pool\"\n"
                    .repeat(9),
            ),
            "policy `p`: escalation: 9 steps; at most 8",
        ),
    ] {
        assert_eq!(refused(&text), want, "{text}");
    }
    // Business time: hours only, as for the allowance.
    let text = base("[[policy.escalation]]\nid = \"s\"\non = \"breached\"\nafter = \"2d\"\nnotify = [\"owner\"]\n")
        .replace("business_time = false", "business_time = true")
        + "[calendar]\ntime_zone = \"UTC\"\n";
    assert!(refused(&text).contains("escalation `s`.after: `2d`: use hours"));
}
