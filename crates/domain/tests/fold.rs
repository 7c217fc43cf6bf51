//! Given-when-then tests of the lifecycle fold: given a lead's events, when folded, then
//! the derived state (stage, visits, transitions, owner, funnel marks, counters).

mod common;

use common::*;
use leadledger_domain::event::{Owner, PocOutcome};
use leadledger_domain::{fold, Event, LeadState, Payload, Stage, TransitionKind, Visit};

fn stages(st: &LeadState) -> Vec<Stage> {
    st.visits.iter().map(|v| v.stage).collect()
}

fn kinds(st: &LeadState) -> Vec<TransitionKind> {
    st.transitions.iter().map(|t| t.kind).collect()
}

fn visit(
    stage: Stage,
    entered_at: chrono::DateTime<chrono::Utc>,
    exited_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Visit {
    Visit {
        stage,
        entered_at,
        exited_at,
    }
}

fn happy_path() -> Vec<Event> {
    vec![
        ev(1, at(2, 9), captured("website")),
        ev(2, at(3, 10), mql(85)),
        ev(3, at(5, 11), accepted("rep-7")),
        ev(4, at(10, 14), poc_started()),
        ev(5, at(25, 16), signed(12_000_000, "CNY")),
    ]
}

// ----- 1. happy path -----

#[test]
fn happy_path_moves_forward_through_the_main_line() {
    // Given a lead captured, qualified, accepted, in POC and signed, in order.
    let events = happy_path();

    // When folded.
    let st = fold(&events);

    // Then it ends in Signed, every move is Forward and the visits are closed in sequence.
    assert_eq!(st.stage, Some(Stage::Signed));
    assert_eq!(kinds(&st), vec![TransitionKind::Forward; 5]);
    assert!(st.transitions.iter().all(|t| t.skipped.is_empty()));
    let froms: Vec<Option<Stage>> = st.transitions.iter().map(|t| t.from).collect();
    assert_eq!(
        froms,
        vec![
            None,
            Some(Stage::Captured),
            Some(Stage::Mql),
            Some(Stage::Sql),
            Some(Stage::Poc)
        ]
    );
    let event_ids: Vec<_> = st.transitions.iter().map(|t| t.event_id).collect();
    assert_eq!(event_ids, vec![id(1), id(2), id(3), id(4), id(5)]);
    assert_eq!(
        st.visits,
        vec![
            visit(Stage::Captured, at(2, 9), Some(at(3, 10))),
            visit(Stage::Mql, at(3, 10), Some(at(5, 11))),
            visit(Stage::Sql, at(5, 11), Some(at(10, 14))),
            visit(Stage::Poc, at(10, 14), Some(at(25, 16))),
            visit(Stage::Signed, at(25, 16), None),
        ]
    );
    assert_eq!(st.max_rank, 5);
    assert_eq!(
        st.first_entered,
        [
            Some(at(2, 9)),
            Some(at(3, 10)),
            Some(at(5, 11)),
            Some(at(10, 14)),
            Some(at(25, 16))
        ]
    );
    assert_eq!(st.signed_amount_minor, 12_000_000);
    assert_eq!(st.signed_currency, "CNY");
    assert_eq!(st.captured_at, Some(at(2, 9)));
    assert_eq!(st.source.channel, "website");
    assert_eq!(st.contact.name, "Li Wei");
    assert_eq!(st.owner.rep_id, "rep-7");
    assert_eq!(st.event_count, 5);
    assert_eq!(st.unknown_count, 0);
    assert_eq!(st.last_event_at, Some(at(25, 16)));
    for s in Stage::MAIN_LINE {
        assert!(st.reached(s), "{s:?}");
    }
    assert_eq!(st.entered(Stage::Sql), Some(at(5, 11)));
    assert_eq!(st.entered(Stage::Lost), None);
    assert!(!st.reached(Stage::Lost));
}

#[test]
fn no_events_fold_to_the_default_state() {
    let st = fold(&Vec::<Event>::new());
    assert_eq!(st, LeadState::default());
    assert_eq!(st.stage, None);
    assert_eq!(st.max_rank, 0);
}

#[test]
fn facts_without_a_stage_change_leave_the_stage_unset() {
    // Given only touches and a follow-up.
    let events = vec![
        ev(1, at(2, 9), touch()),
        ev(2, at(2, 10), touch()),
        ev(3, at(3, 9), follow_up("left a voicemail")),
    ];
    let st = fold(&events);
    assert_eq!(st.stage, None);
    assert!(st.visits.is_empty());
    assert!(st.transitions.is_empty());
    assert_eq!(st.max_rank, 0);
    assert_eq!(st.touch_count, 2);
    assert_eq!(st.follow_up_count, 1);
    assert_eq!(st.event_count, 3);
    assert!(!st.reached(Stage::Captured));
}

// ----- 2. out of order -----

#[test]
fn sql_appended_before_mql_but_later_in_business_time_folds_as_in_order() {
    // Given the SQL fact arrives first, then the capture, then the MQL.
    let in_order = vec![
        ev(1, at(2, 9), captured("website")),
        ev(2, at(3, 10), mql(85)),
        ev(3, at(5, 11), accepted("rep-7")),
    ];
    let arrival = vec![
        in_order[2].clone(),
        in_order[0].clone(),
        in_order[1].clone(),
    ];

    // When folded.
    let st = fold(&arrival);

    // Then the state is the in-order state: SQL, all Forward, no Skip.
    assert_eq!(st, fold(&in_order));
    assert_eq!(st.stage, Some(Stage::Sql));
    assert_eq!(stages(&st), vec![Stage::Captured, Stage::Mql, Stage::Sql]);
    assert_eq!(kinds(&st), vec![TransitionKind::Forward; 3]);
    assert!(st.transitions.iter().all(|t| t.skipped.is_empty()));
    assert_eq!(st.max_rank, 3);
}

// ----- 3. / 4. skips -----

#[test]
fn sql_without_mql_is_a_skip_over_mql() {
    let events = vec![
        ev(1, at(2, 9), captured("website")),
        ev(2, at(4, 9), accepted("rep-7")),
    ];
    let st = fold(&events);
    assert_eq!(st.stage, Some(Stage::Sql));
    let t = &st.transitions[1];
    assert_eq!(t.from, Some(Stage::Captured));
    assert_eq!(t.to, Stage::Sql);
    assert_eq!(t.kind, TransitionKind::Skip);
    assert_eq!(t.skipped, vec![Stage::Mql]);
    assert_eq!(t.at, at(4, 9));
    assert_eq!(st.max_rank, 3);
    // The funnel counts it as having reached MQL, but it never entered MQL.
    assert!(st.reached(Stage::Mql));
    assert_eq!(st.entered(Stage::Mql), None);
    assert_eq!(st.first_entered[1], None);
}

#[test]
fn mql_straight_to_signed_skips_sql_and_poc() {
    let events = vec![
        ev(1, at(2, 9), captured("website")),
        ev(2, at(3, 9), mql(90)),
        ev(3, at(9, 9), signed(50_000, "USD")),
    ];
    let st = fold(&events);
    let t = st.transitions.last().unwrap();
    assert_eq!(t.kind, TransitionKind::Skip);
    assert_eq!(t.skipped, vec![Stage::Sql, Stage::Poc]);
    assert_eq!(st.max_rank, 5);
}

#[test]
fn first_event_mql_without_capture_skips_captured() {
    let events = vec![ev(1, at(3, 10), mql(70))];
    let st = fold(&events);
    assert_eq!(st.stage, Some(Stage::Mql));
    assert_eq!(st.transitions.len(), 1);
    let t = &st.transitions[0];
    assert_eq!(t.from, None);
    assert_eq!(t.kind, TransitionKind::Skip);
    assert_eq!(t.skipped, vec![Stage::Captured]);
    assert_eq!(st.visits, vec![visit(Stage::Mql, at(3, 10), None)]);
    assert_eq!(st.captured_at, None);
    assert_eq!(st.first_entered, [None, Some(at(3, 10)), None, None, None]);
    assert_eq!(st.max_rank, 2);
}

#[test]
fn first_event_sql_skips_captured_and_mql() {
    let st = fold(&[ev(1, at(3, 10), accepted("rep-1"))]);
    assert_eq!(st.transitions[0].kind, TransitionKind::Skip);
    assert_eq!(st.transitions[0].skipped, vec![Stage::Captured, Stage::Mql]);
}

#[test]
fn a_late_capture_of_a_lead_first_seen_as_mql_is_data_not_a_move() {
    // Given the MQL is the first fact in business time, and the capture comes a day later.
    let events = vec![
        ev(1, at(3, 10), mql(70)),
        ev(2, at(4, 10), captured("trade-show")),
    ];
    let st = fold(&events);
    assert_eq!(st.stage, Some(Stage::Mql));
    assert_eq!(stages(&st), vec![Stage::Mql]);
    assert_eq!(st.transitions[0].skipped, vec![Stage::Captured]);
    // The capture's data is still kept.
    assert_eq!(st.captured_at, Some(at(4, 10)));
    assert_eq!(st.source.channel, "trade-show");
    assert_eq!(st.first_entered[0], None);
}

// ----- 5. regression -----

#[test]
fn sales_accepted_after_poc_is_a_regression() {
    let mut events = happy_path();
    events.pop(); // no signature
    events.push(ev(6, at(15, 9), accepted("rep-8")));
    let st = fold(&events);

    assert_eq!(st.stage, Some(Stage::Sql));
    let t = st.transitions.last().unwrap();
    assert_eq!(t.from, Some(Stage::Poc));
    assert_eq!(t.to, Stage::Sql);
    assert_eq!(t.kind, TransitionKind::Regression);
    assert!(t.skipped.is_empty());
    // The funnel keeps the furthest point and the first entries.
    assert_eq!(st.max_rank, 4);
    assert_eq!(st.entered(Stage::Sql), Some(at(5, 11)));
    assert_eq!(
        stages(&st),
        vec![
            Stage::Captured,
            Stage::Mql,
            Stage::Sql,
            Stage::Poc,
            Stage::Sql
        ]
    );
    assert_eq!(st.visits[3].exited_at, Some(at(15, 9)));
    assert_eq!(st.visits[4], visit(Stage::Sql, at(15, 9), None));
    assert_eq!(st.owner.rep_id, "rep-8");
}

#[test]
fn repeated_fact_of_the_current_stage_is_not_a_transition() {
    let events = vec![
        ev(1, at(2, 9), captured("website")),
        ev(2, at(3, 9), mql(60)),
        ev(3, at(4, 9), mql(90)),
    ];
    let st = fold(&events);
    assert_eq!(stages(&st), vec![Stage::Captured, Stage::Mql]);
    assert_eq!(st.visits[1], visit(Stage::Mql, at(3, 9), None));
    assert_eq!(st.event_count, 3);
}

// ----- 6. side exits -----

#[test]
fn side_exits_and_reentry() {
    // Given: captured, MQL, handed off, rejected by sales, re-qualified, handed off again,
    // recycled to the public pool, disqualified, lost.
    let events = vec![
        ev(1, at(1, 9), captured("website")),
        ev(2, at(2, 9), mql(70)),
        ev(3, at(2, 10), handed_off("east-ka", "rep-7")),
        ev(4, at(4, 9), rejected()),
        ev(5, at(8, 9), mql(85)),
        ev(6, at(8, 10), handed_off("east-smb", "rep-9")),
        ev(7, at(12, 9), recycled()),
        ev(8, at(14, 9), disqualified()),
        ev(9, at(16, 9), lost()),
    ];

    // When: fold up to each point.
    let after_reject = fold(&events[..4]);
    let after_reentry = fold(&events[..6]);
    let after_recycle = fold(&events[..7]);
    let st = fold(&events);

    // Then: rejection is an exit and keeps the owner.
    assert_eq!(after_reject.stage, Some(Stage::Rejected));
    let t = after_reject.transitions.last().unwrap();
    assert_eq!(
        (t.from, t.to, t.kind),
        (Some(Stage::Mql), Stage::Rejected, TransitionKind::Exit)
    );
    assert!(t.skipped.is_empty());
    assert_eq!(after_reject.owner, owner("east-ka", "rep-7"));
    assert_eq!(after_reject.max_rank, 2);

    // A new MQL after the rejection is a re-entry.
    assert_eq!(after_reentry.stage, Some(Stage::Mql));
    let t = &after_reentry.transitions[3];
    assert_eq!(
        (t.from, t.to, t.kind),
        (Some(Stage::Rejected), Stage::Mql, TransitionKind::Reentry)
    );
    assert_eq!(after_reentry.owner, owner("east-smb", "rep-9"));
    // first entry into MQL is the first qualification.
    assert_eq!(after_reentry.entered(Stage::Mql), Some(at(2, 9)));

    // Recycling is an exit and clears the owner.
    assert_eq!(after_recycle.stage, Some(Stage::Recycled));
    assert_eq!(
        after_recycle.transitions.last().unwrap().kind,
        TransitionKind::Exit
    );
    assert_eq!(after_recycle.owner, Owner::default());
    assert!(after_recycle.owner.is_empty());

    // Disqualified and lost are exits too (also from another exit).
    assert_eq!(st.stage, Some(Stage::Lost));
    assert_eq!(
        kinds(&st),
        vec![
            TransitionKind::Forward,
            TransitionKind::Forward,
            TransitionKind::Exit,
            TransitionKind::Reentry,
            TransitionKind::Exit,
            TransitionKind::Exit,
            TransitionKind::Exit,
        ]
    );
    assert_eq!(
        stages(&st),
        vec![
            Stage::Captured,
            Stage::Mql,
            Stage::Rejected,
            Stage::Mql,
            Stage::Recycled,
            Stage::Disqualified,
            Stage::Lost
        ]
    );
    assert_eq!(
        st.visits[5],
        visit(Stage::Disqualified, at(14, 9), Some(at(16, 9)))
    );
    assert_eq!(st.visits[6], visit(Stage::Lost, at(16, 9), None));
    // Exits never raise the funnel mark.
    assert_eq!(st.max_rank, 2);
    assert!(!st.reached(Stage::Sql));
    assert!(!st.reached(Stage::Lost));
    assert_eq!(st.entered(Stage::Lost), None);
}

#[test]
fn lost_from_poc_is_an_exit_and_keeps_the_funnel_mark() {
    let mut events = happy_path();
    events.pop();
    events.push(ev(6, at(20, 9), lost()));
    let st = fold(&events);
    assert_eq!(st.stage, Some(Stage::Lost));
    let t = st.transitions.last().unwrap();
    assert_eq!((t.from, t.kind), (Some(Stage::Poc), TransitionKind::Exit));
    assert_eq!(st.max_rank, 4);
}

#[test]
fn signed_after_lost_is_a_reentry_without_skips() {
    let events = vec![
        ev(1, at(1, 9), captured("website")),
        ev(2, at(2, 9), lost()),
        ev(3, at(9, 9), signed(100_000, "EUR")),
    ];
    let st = fold(&events);
    let t = st.transitions.last().unwrap();
    assert_eq!(
        (t.from, t.to, t.kind),
        (Some(Stage::Lost), Stage::Signed, TransitionKind::Reentry)
    );
    assert!(t.skipped.is_empty());
    assert_eq!(st.max_rank, 5);
    assert_eq!(st.signed_currency, "EUR");
}

#[test]
fn an_exit_as_the_first_fact_is_an_exit_from_nowhere() {
    let st = fold(&[ev(1, at(1, 9), disqualified())]);
    assert_eq!(st.transitions[0].from, None);
    assert_eq!(st.transitions[0].kind, TransitionKind::Exit);
    assert_eq!(st.max_rank, 0);
    assert_eq!(st.first_entered, [None; 5]);
}

// ----- 7. a second capture -----

#[test]
fn a_later_capture_does_not_move_back_nor_replace_the_first_source() {
    let first = ev(1, at(1, 9), captured("website"));
    let second = ev(3, at(6, 9), captured("webinar"));
    let events = vec![second.clone(), first.clone(), ev(2, at(3, 9), mql(80))];

    let st = fold(&events);

    assert_eq!(st.stage, Some(Stage::Mql));
    assert_eq!(stages(&st), vec![Stage::Captured, Stage::Mql]);
    assert_eq!(st.visits[1].exited_at, None);
    assert_eq!(st.captured_at, Some(at(1, 9)));
    assert_eq!(st.source.channel, "website");
    assert_eq!(st.contact.email, "li.wei@website.example.com");
    assert_eq!(st.event_count, 3);
    assert_eq!(st.last_event_at, Some(at(6, 9)));
}

#[test]
fn a_capture_after_an_exit_does_not_reenter() {
    let events = vec![
        ev(1, at(1, 9), captured("website")),
        ev(2, at(2, 9), recycled()),
        ev(3, at(5, 9), captured("webinar")),
    ];
    let st = fold(&events);
    assert_eq!(st.stage, Some(Stage::Recycled));
    assert_eq!(st.transitions.len(), 2);
    assert_eq!(st.source.channel, "website");
}

// ----- 8. duplicates -----

#[test]
fn duplicates_count_once_in_any_order() {
    let base = happy_path();
    let once = fold(&base);
    let orders: Vec<Vec<usize>> = vec![
        vec![0, 1, 2, 3, 4, 0, 2, 4],
        vec![4, 4, 3, 2, 1, 0, 0],
        vec![2, 0, 2, 1, 3, 2, 4, 1],
        vec![1, 1, 1, 1, 0, 2, 3, 4, 3],
    ];
    for order in orders {
        let events: Vec<Event> = order.iter().map(|&i| base[i].clone()).collect();
        let st = fold(&events);
        assert_eq!(st, once, "order {order:?}");
        assert_eq!(st.event_count, 5);
        assert_eq!(st.transitions.len(), 5);
    }
}

#[test]
fn duplicate_counters_count_once() {
    let t = ev(1, at(2, 9), touch());
    let f = ev(2, at(3, 9), follow_up("call"));
    let u = ev(3, at(3, 10), unknown("meeting_booked"));
    let st = fold(&[t.clone(), f.clone(), u.clone(), u, f, t]);
    assert_eq!(st.touch_count, 1);
    assert_eq!(st.follow_up_count, 1);
    assert_eq!(st.unknown_count, 1);
    assert_eq!(st.event_count, 3);
}

/// The fold's contract says it "drops duplicate ids"; a redelivered source fact has the
/// same id (ids are UUIDv5 of the source fact) but may carry a corrected business time.
#[test]
fn same_id_with_a_different_business_time_counts_once() {
    let e = ev(2, at(3, 9), mql(80));
    let mut redelivered = e.clone();
    redelivered.occurred_at = at(3, 11);
    // A touch between the two business times separates the copies after sorting.
    let between = ev(3, at(3, 10), touch());
    let st = fold(&[
        ev(1, at(1, 9), captured("website")),
        e,
        between,
        redelivered,
    ]);
    assert_eq!(st.event_count, 3);
    assert_eq!(st.visits.len(), 2);
}

// ----- 9. ties -----

#[test]
fn ties_at_equal_business_time_are_ordered_by_event_id() {
    let cap = ev(1, at(1, 9), captured("website"));
    let q = ev(2, at(2, 9), mql(70));
    let t = at(4, 9);

    // Rejection (id 7) before re-qualification (id 8): ends in MQL via a re-entry.
    let a = [
        cap.clone(),
        q.clone(),
        ev(7, t, rejected()),
        ev(8, t, mql(90)),
    ];
    // Same facts, ids swapped: re-qualification first is a no-op, then the rejection.
    let b = [
        cap.clone(),
        q.clone(),
        ev(8, t, rejected()),
        ev(7, t, mql(90)),
    ];

    for perm in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 3, 0, 1], [1, 3, 0, 2]] {
        let sa = fold(perm.iter().map(|&i| &a[i]));
        assert_eq!(sa.stage, Some(Stage::Mql), "{perm:?}");
        assert_eq!(
            kinds(&sa),
            vec![
                TransitionKind::Forward,
                TransitionKind::Forward,
                TransitionKind::Exit,
                TransitionKind::Reentry
            ]
        );
        assert_eq!(sa.visits[2], visit(Stage::Rejected, t, Some(t)));
        assert_eq!(sa.transitions[2].event_id, id(7));
        assert_eq!(sa.transitions[3].event_id, id(8));

        let sb = fold(perm.iter().map(|&i| &b[i]));
        assert_eq!(sb.stage, Some(Stage::Rejected), "{perm:?}");
        assert_eq!(sb.transitions.len(), 3);
        assert_eq!(sb.transitions[2].event_id, id(8));
    }
}

#[test]
fn handoffs_at_the_same_time_the_higher_id_wins() {
    let t = at(3, 9);
    let x = ev(10, t, handed_off("east-ka", "rep-1"));
    let y = ev(11, t, handed_off("north-ka", "rep-2"));
    assert_eq!(
        fold(&[x.clone(), y.clone()]).owner,
        owner("north-ka", "rep-2")
    );
    assert_eq!(fold(&[y, x]).owner, owner("north-ka", "rep-2"));
}

// ----- 10. unknown payloads and newer schema versions -----

#[test]
fn unknown_payloads_and_newer_schemas_are_counted_but_not_folded() {
    let base = happy_path();
    let before = fold(&base);

    let mut newer_signed = ev(20, at(11, 9), signed(99, "USD"));
    newer_signed.schema_version = leadledger_domain::SCHEMA_VERSION + 1;
    let mut newer_lost = ev(21, at(12, 9), lost());
    newer_lost.schema_version = leadledger_domain::SCHEMA_VERSION + 1;
    let mut newer_handoff = ev(22, at(12, 10), handed_off("x", "y"));
    newer_handoff.schema_version = 7;
    let mut events = base.clone();
    events.extend([
        ev(23, at(4, 9), unknown("meeting_booked")),
        ev(24, at(6, 9), unknown("contract_amended")),
        newer_signed,
        newer_lost,
        newer_handoff,
    ]);

    let st = fold(&events);

    assert_eq!(st.event_count, before.event_count + 5);
    assert_eq!(st.unknown_count, 5);
    // Everything else is exactly the state without them (all inside the timeline's span,
    // so last_event_at is unchanged too).
    let mut without_counts = st.clone();
    without_counts.event_count = before.event_count;
    without_counts.unknown_count = 0;
    assert_eq!(without_counts, before);
}

#[test]
fn unknown_only_timeline_has_no_stage() {
    let mut newer = ev(2, at(2, 9), captured("website"));
    newer.schema_version = leadledger_domain::SCHEMA_VERSION + 1;
    let st = fold(&[ev(1, at(1, 9), unknown("x")), newer]);
    assert_eq!(st.stage, None);
    assert_eq!(st.captured_at, None);
    assert_eq!(st.event_count, 2);
    assert_eq!(st.unknown_count, 2);
}

/// Documents current behaviour: an unknown event is still activity on the lead, so a later
/// one advances `last_event_at` (it is the only field besides the counters it touches).
#[test]
fn a_later_unknown_event_advances_last_event_at_only() {
    let base = happy_path();
    let before = fold(&base);
    let mut events = base.clone();
    events.push(ev(30, at(28, 9), unknown("renewal_reminder")));
    let st = fold(&events);
    assert_eq!(st.last_event_at, Some(at(28, 9)));
    assert_eq!(st.stage, before.stage);
    assert_eq!(st.visits, before.visits);
    assert_eq!(st.transitions, before.transitions);
}

// ----- 11. owner and follow-ups -----

#[test]
fn handoff_sets_owner_and_sales_accepted_sets_the_rep() {
    let events = vec![
        ev(1, at(1, 9), captured("website")),
        ev(2, at(2, 9), mql(80)),
        ev(3, at(2, 10), handed_off("east-ka", "")),
    ];
    let st = fold(&events);
    assert_eq!(st.owner, owner("east-ka", ""));

    // Accepting with a rep fills in the rep and keeps team and queue.
    let mut with_accept = events.clone();
    with_accept.push(ev(4, at(3, 9), accepted("rep-7")));
    let st = fold(&with_accept);
    assert_eq!(st.owner, owner("east-ka", "rep-7"));

    // Accepting without a rep keeps the owner as it was.
    let mut anonymous = events.clone();
    anonymous.push(ev(4, at(3, 9), accepted("")));
    let st = fold(&anonymous);
    assert_eq!(st.owner, owner("east-ka", ""));
    assert_eq!(st.stage, Some(Stage::Sql));

    // A later handoff replaces the whole owner.
    with_accept.push(ev(
        5,
        at(4, 9),
        Payload::HandedOff(Owner {
            partner_id: "partner-3".into(),
            ..Owner::default()
        }),
    ));
    let st = fold(&with_accept);
    assert_eq!(
        st.owner,
        Owner {
            partner_id: "partner-3".into(),
            ..Owner::default()
        }
    );
}

#[test]
fn first_follow_up_is_the_earliest_in_business_time() {
    let events = vec![
        ev(1, at(1, 9), captured("website")),
        ev(5, at(4, 15), follow_up("second call")),
        ev(4, at(3, 11), follow_up("first call")),
        ev(6, at(9, 9), follow_up("third call")),
        ev(2, at(2, 9), mql(80)),
    ];
    let st = fold(&events);
    assert_eq!(st.first_follow_up_at, Some(at(3, 11)));
    assert_eq!(st.follow_up_count, 3);
    // Follow-ups and feedback do not change the stage.
    assert_eq!(st.stage, Some(Stage::Mql));
}

#[test]
fn poc_outcome_feedback_and_touches() {
    let mut events = happy_path();
    events.pop();
    events.extend([
        ev(6, at(12, 9), feedback(Stage::Poc)),
        ev(7, at(18, 9), poc_completed(PocOutcome::Failure)),
        ev(8, at(1, 8), touch()),
        ev(9, at(19, 9), poc_completed(PocOutcome::Success)),
    ]);
    let st = fold(&events);
    assert_eq!(st.poc_outcome, Some(PocOutcome::Success));
    assert_eq!(st.stage, Some(Stage::Poc));
    assert_eq!(st.touch_count, 1);
    assert_eq!(st.event_count, 8);
    assert_eq!(st.signed_amount_minor, 0);
    assert_eq!(st.signed_currency, "");
}

#[test]
fn a_later_signature_replaces_amount_and_currency() {
    let mut events = happy_path();
    events.push(ev(6, at(26, 9), signed(15_000_000, "USD")));
    let st = fold(&events);
    assert_eq!(st.signed_amount_minor, 15_000_000);
    assert_eq!(st.signed_currency, "USD");
    assert_eq!(st.transitions.len(), 5);
}

#[test]
fn minute_resolution_ordering() {
    // Facts minutes apart on the same hour fold by time, not by id.
    let events = vec![
        ev(9, at_min(2, 9, 1), mql(80)),
        ev(8, at_min(2, 9, 2), accepted("rep-1")),
        ev(7, at_min(2, 9, 0), captured("website")),
    ];
    let st = fold(&events);
    assert_eq!(stages(&st), vec![Stage::Captured, Stage::Mql, Stage::Sql]);
    assert_eq!(kinds(&st), vec![TransitionKind::Forward; 3]);
}

/// Same root cause: two different facts that share `(occurred_at, event_id)` fold to a state
/// that depends on the input order (the stable sort keeps input order, `dedup` keeps the
/// first), contradicting "the same set of events always gives the same state".
#[test]
fn same_id_and_time_with_different_payloads_is_order_independent() {
    let cap = ev(1, at(1, 9), captured("website"));
    let a = ev(2, at(3, 9), mql(80));
    let b = ev(2, at(3, 9), rejected());
    assert_eq!(
        fold(&[cap.clone(), a.clone(), b.clone()]),
        fold(&[cap, b, a])
    );
}

// ----- exits: why, who and how far -----

#[test]
fn an_exit_records_its_code_the_owner_before_it_and_the_furthest_stage_reached() {
    use leadledger_domain::reason::Exit;
    // Given a lead handed to rep-7 of team east, accepted, then recycled by a rule that
    // names no rep (words only), re-qualified, and lost with a code by rep-3.
    let events = vec![
        ev(1, at(2, 9), captured("website")),
        ev(2, at(3, 10), mql(85)),
        ev(3, at(3, 11), handed_off("east", "rep-7")),
        ev(4, at(5, 11), accepted("rep-7")),
        ev(5, at(9, 11), recycled()),
        ev(6, at(12, 11), mql(90)),
        ev(
            7,
            at(20, 11),
            Payload::Lost {
                reason: String::new(),
                competitor: String::new(),
                code: 1,
                rep_id: "rep-3".into(),
            },
        ),
    ];

    // When folded.
    let st = fold(&events);

    // Then the recycle is the owner's (rep-7, east), unspecified, after SQL; the owner is
    // cleared by it, so the loss has no team, and it names its own rep and code.
    let exits: Vec<&Exit> = st
        .transitions
        .iter()
        .filter_map(|t| t.exit.as_ref())
        .collect();
    assert_eq!(
        exits,
        [
            &Exit {
                code: "unspecified".into(),
                text: "no response for 14 days".into(),
                rep_id: "rep-7".into(),
                team: "east".into(),
                reached: Some(Stage::Sql),
            },
            &Exit {
                code: "price".into(),
                text: String::new(),
                rep_id: "rep-3".into(),
                team: String::new(),
                reached: Some(Stage::Sql),
            },
        ]
    );
    // Only exits carry one.
    assert!(st
        .transitions
        .iter()
        .all(|t| t.exit.is_some() == (t.kind == TransitionKind::Exit)));
}

// ----- payments -----

#[test]
fn collected_is_the_receipts_in_the_contract_currency_once_signed() {
    let mut events = happy_path();
    // A deposit before the contract is entered, a receipt in another currency, a duplicate.
    events.push(ev(10, at(20, 9), payment(1_000_000, "CNY")));
    events.push(ev(11, at(27, 9), payment(2_600_000, "CNY")));
    events.push(ev(12, at(28, 9), payment(500, "USD")));
    events.push(ev(11, at(27, 9), payment(2_600_000, "CNY")));
    let st = fold(&events);
    assert_eq!(st.collected.get("CNY"), Some(&3_600_000));
    assert_eq!(st.collected.get("USD"), Some(&500));
    assert_eq!(st.collected_minor(), 3_600_000);
    // Receipts move no stage and open no visit.
    assert_eq!(stages(&st).last(), Some(&Stage::Signed));
    assert_eq!(st.event_count, 8);

    // Not signed: receipts are kept, nothing is collected of a contract.
    let unsigned: Vec<Event> = events
        .iter()
        .filter(|e| !matches!(e.payload, Payload::Signed { .. }))
        .cloned()
        .collect();
    let st = fold(&unsigned);
    assert_eq!(st.collected.get("CNY"), Some(&3_600_000));
    assert_eq!(st.collected_minor(), 0);

    // A contract re-stated in USD collects the USD receipts.
    events.push(ev(13, at(26, 9), signed(900, "USD")));
    assert_eq!(fold(&events).collected_minor(), 500);
}

// ----- escalation reassignments -----

fn reassigned(from: Owner, to: Owner) -> Payload {
    use leadledger_domain::event::{Escalation, EscalationTrigger, Reassignment};
    Payload::SlaEscalated(Escalation {
        policy_id: "mql-follow-up".into(),
        policy_version: 1,
        start_event_id: id(2),
        started_at: at(3, 10),
        due_at: at(4, 10),
        step_id: "reassign".into(),
        trigger: EscalationTrigger::Breached,
        after_seconds: 8 * 3600,
        owner: from,
        notify: vec!["team_lead:zhao".into()],
        unresolved: vec![],
        reassignment: Some(Reassignment {
            to,
            mode: "next_rep".into(),
            ..Reassignment::default()
        }),
    })
}

#[test]
fn an_escalation_moves_the_lead_only_from_the_owner_it_saw() {
    // Given a lead handed to rep-1, and an escalation that moves it from rep-1 to rep-2.
    let base = vec![
        ev(1, at(2, 9), captured("website")),
        ev(2, at(3, 10), mql(85)),
        ev(3, at(3, 11), handed_off("east", "rep-1")),
    ];
    let step = ev(
        4,
        at(5, 18),
        reassigned(owner("east", "rep-1"), owner("east", "rep-2")),
    );

    // When folded as is, then rep-2 owns it from the step's instant.
    let mut events = base.clone();
    events.push(step.clone());
    let st = fold(&events);
    assert_eq!(st.owner, owner("east", "rep-2"));
    assert_eq!(st.owner_since, Some(at(5, 18)));

    // When a manager handed it to rep-3 before the step's instant (a fact the worker had not
    // seen), then the step moves nothing: rep-3 keeps it.
    let mut events = base.clone();
    events.push(ev(5, at(5, 12), handed_off("east", "rep-3")));
    events.push(step.clone());
    assert_eq!(fold(&events).owner, owner("east", "rep-3"));

    // When the hand-off to rep-3 came after the step, then it wins as the later fact.
    let mut events = base;
    events.push(step);
    events.push(ev(5, at(6, 9), handed_off("east", "rep-3")));
    assert_eq!(fold(&events).owner, owner("east", "rep-3"));
}

// ----- erasure -----

fn erased() -> Payload {
    Payload::ContactErased(leadledger_domain::privacy::Erasure {
        requested_by: "dpo".into(),
        reason: "GDPR art. 17".into(),
    })
}

#[test]
fn an_erasure_empties_the_contact_and_moves_no_figure() {
    // Given the happy path, and the same with the contact erased after the signature.
    let before = fold(&happy_path());
    let mut events = happy_path();
    events.push(ev(9, at(28, 9), erased()));
    let after = fold(&events);
    // Then the contact is gone, the e-mail's domain and every figure stay.
    assert_eq!(after.contact, Default::default());
    assert_eq!(after.contact_erased_at, Some(at(28, 9)));
    assert_eq!(after.email_domain, "website.example.com");
    assert_eq!(before.email_domain, after.email_domain);
    assert_eq!(after.last_event_at, before.last_event_at, "no activity");
    assert_eq!(after.event_count, before.event_count + 1);
    let figures = |s: &LeadState| {
        (
            s.stage,
            s.max_rank,
            s.first_entered,
            s.visits.clone(),
            s.owner.clone(),
            s.company.clone(),
            s.source.clone(),
            s.signed_amount_minor,
            s.captured_at,
        )
    };
    assert_eq!(figures(&after), figures(&before));
}

#[test]
fn a_capture_after_the_erasure_is_a_new_consent_but_the_first_capture_decides() {
    // An erasure before the first capture (in business time) does not empty a contact told
    // after it; one after the first capture does, whatever arrives later.
    let late = fold(&[ev(1, at(2, 9), erased()), ev(2, at(3, 9), captured("seo"))]);
    assert_eq!(late.contact.name, "Li Wei");
    assert_eq!(late.contact_erased_at, Some(at(2, 9)));
    let again = fold(&[
        ev(1, at(2, 9), captured("seo")),
        ev(2, at(3, 9), erased()),
        ev(3, at(4, 9), captured("website")),
    ]);
    assert_eq!(again.contact, Default::default());
    assert_eq!(again.email_domain, "seo.example.com");
}
