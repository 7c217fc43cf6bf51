//! Property tests of the lifecycle fold over random timelines of one lead.

mod common;

use std::collections::HashSet;

use chrono::Duration;
use common::*;
use leadledger_domain::event::PocOutcome;
use leadledger_domain::{fold, Event, Payload, Stage, TransitionKind};
use proptest::prelude::*;
use proptest::sample::Index;
use uuid::Uuid;

/// The payload kinds a timeline is drawn from: every stage change, the facts that change no
/// stage, an unknown type and (via `NEWER`) an event of a newer schema version.
const KINDS: usize = 17;
const NEWER: usize = 16;

fn payload(kind: usize, n: u32) -> Payload {
    match kind {
        0 => captured(["website", "webinar", "trade-show"][n as usize % 3]),
        1 => touch(),
        2 => mql(n % 1001),
        3 => handed_off(
            ["east-ka", "north-smb"][n as usize % 2],
            &format!("rep-{n}"),
        ),
        4 => accepted(if n.is_multiple_of(3) { "" } else { "rep-7" }),
        5 => rejected(),
        6 => follow_up("call"),
        7 => feedback(Stage::ALL[n as usize % 9]),
        8 => poc_started(),
        9 => poc_completed(
            [
                PocOutcome::Success,
                PocOutcome::Failure,
                PocOutcome::Abandoned,
            ][n as usize % 3],
        ),
        10 => signed(i64::from(n) + 1, ["CNY", "USD", "EUR"][n as usize % 3]),
        11 => lost(),
        12 => recycled(),
        13 => disqualified(),
        14 => unknown("meeting_booked"),
        15 => accepted("rep-9"), // sales accepted is frequent in real timelines
        NEWER => signed(7, "JPY"),
        _ => unreachable!(),
    }
}

/// Scrambles an index into a distinct id (odd multiplier: a bijection mod 2^128), so id
/// order is unrelated to time order and to generation order.
fn scrambled_id(i: usize) -> Uuid {
    Uuid::from_u128((i as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
}

/// A timeline of distinct events: random kinds at random times within a few hours (ties
/// are common).
fn timeline() -> impl Strategy<Value = Vec<Event>> {
    proptest::collection::vec((0..KINDS, 0i64..12, any::<u32>()), 0..24).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (kind, slot, n))| {
                let mut e = ev(0, at(2, 9) + Duration::minutes(30 * slot), payload(kind, n));
                e.event_id = scrambled_id(i);
                if kind == NEWER {
                    e.schema_version = leadledger_domain::SCHEMA_VERSION + 1;
                }
                e
            })
            .collect()
    })
}

/// A timeline, and the same timeline with arbitrary elements duplicated and then shuffled.
fn timeline_and_scrambled() -> impl Strategy<Value = (Vec<Event>, Vec<Event>)> {
    (timeline(), proptest::collection::vec(any::<Index>(), 0..12)).prop_flat_map(
        |(events, dups)| {
            let mut noisy = events.clone();
            if !events.is_empty() {
                noisy.extend(dups.iter().map(|ix| events[ix.index(events.len())].clone()));
            }
            (Just(events), Just(noisy).prop_shuffle())
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// (a) The fold is a function of the set of events: any permutation, any duplicates.
    #[test]
    fn fold_ignores_order_and_duplicates((events, scrambled) in timeline_and_scrambled()) {
        let st = fold(&events);
        prop_assert_eq!(&fold(&scrambled), &st);
        let reversed: Vec<&Event> = events.iter().rev().collect();
        prop_assert_eq!(&fold(reversed), &st);
        prop_assert_eq!(st.event_count as usize, events.len());
        let distinct: HashSet<Uuid> = scrambled.iter().map(|e| e.event_id).collect();
        prop_assert_eq!(distinct.len(), events.len());
    }

    /// (b) Visits are contiguous: each ends when the next begins, only the last is open,
    /// and there is one visit per transition.
    #[test]
    fn visits_are_contiguous(events in timeline()) {
        let st = fold(&events);
        prop_assert_eq!(st.visits.len(), st.transitions.len());
        for w in st.visits.windows(2) {
            prop_assert_eq!(w[0].exited_at, Some(w[1].entered_at));
            prop_assert!(w[0].entered_at <= w[1].entered_at);
            prop_assert_ne!(w[0].stage, w[1].stage);
        }
        if let Some(last) = st.visits.last() {
            prop_assert_eq!(last.exited_at, None);
            prop_assert_eq!(st.stage, Some(last.stage));
        } else {
            prop_assert_eq!(st.stage, None);
        }
    }

    /// (c) The funnel mark is the highest main-line rank of any visit.
    #[test]
    fn max_rank_is_the_highest_visited_rank(events in timeline()) {
        let st = fold(&events);
        let max = st.visits.iter().filter_map(|v| v.stage.rank()).max().unwrap_or(0);
        prop_assert_eq!(st.max_rank, max);
        for s in Stage::MAIN_LINE {
            prop_assert_eq!(st.reached(s), s.rank().unwrap() <= max);
        }
    }

    /// (d) Transitions and visits line up, chain, and carry their classification.
    #[test]
    fn transitions_chain_and_match_visits(events in timeline()) {
        let st = fold(&events);
        for (t, v) in st.transitions.iter().zip(&st.visits) {
            prop_assert_eq!(t.to, v.stage);
            prop_assert_eq!(t.at, v.entered_at);
            prop_assert_eq!((t.kind, t.skipped.clone()), TransitionKind::classify(t.from, t.to));
            let source = events.iter().find(|e| e.event_id == t.event_id);
            prop_assert!(source.is_some_and(|e| e.payload.target_stage() == Some(t.to)));
        }
        if let Some(first) = st.transitions.first() {
            prop_assert_eq!(first.from, None);
        }
        for w in st.transitions.windows(2) {
            prop_assert_eq!(w[1].from, Some(w[0].to));
        }
        // A capture only ever opens the lifecycle.
        prop_assert!(st.visits.iter().skip(1).all(|v| v.stage != Stage::Captured));
    }

    /// (e) first_entered of each main-line stage is its earliest visit.
    #[test]
    fn first_entered_is_the_earliest_visit(events in timeline()) {
        let st = fold(&events);
        for s in Stage::MAIN_LINE {
            let earliest = st.visits.iter().filter(|v| v.stage == s).map(|v| v.entered_at).min();
            prop_assert_eq!(st.first_entered[usize::from(s.rank().unwrap()) - 1], earliest);
            prop_assert_eq!(st.entered(s), earliest);
        }
    }

    /// Counters add up, and unknown / newer events never move the lead.
    #[test]
    fn counters_and_unknowns(events in timeline()) {
        let st = fold(&events);
        let newer = |e: &Event| e.schema_version > leadledger_domain::SCHEMA_VERSION;
        let unknown = events
            .iter()
            .filter(|e| newer(e) || matches!(e.payload, Payload::Unknown { .. }))
            .count();
        prop_assert_eq!(st.unknown_count as usize, unknown);
        let known = |p: fn(&Payload) -> bool| {
            events.iter().filter(|e| !newer(e) && p(&e.payload)).count()
        };
        prop_assert_eq!(
            st.touch_count as usize,
            known(|p| matches!(p, Payload::TouchRecorded(_)))
        );
        prop_assert_eq!(
            st.follow_up_count as usize,
            known(|p| matches!(p, Payload::FollowUpLogged { .. }))
        );
        prop_assert_eq!(st.last_event_at, events.iter().map(|e| e.occurred_at).max());

        let known_only: Vec<&Event> = events
            .iter()
            .filter(|e| !newer(e) && !matches!(e.payload, Payload::Unknown { .. }))
            .collect();
        let without = fold(known_only);
        prop_assert_eq!(&without.visits, &st.visits);
        prop_assert_eq!(&without.transitions, &st.transitions);
        prop_assert_eq!(&without.owner, &st.owner);
        prop_assert_eq!(without.signed_amount_minor, st.signed_amount_minor);
    }
}
