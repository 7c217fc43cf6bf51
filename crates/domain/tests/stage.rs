//! Stages and the classification of moves between them.

use leadledger_domain::{Stage, TransitionKind};

use Stage::*;
use TransitionKind::*;

// ----- 12. classify table -----

#[test]
fn classify_table() {
    #[rustfmt::skip]
    let table: &[(Option<Stage>, Stage, TransitionKind, &[Stage])] = &[
        // First stage: a move from "before captured".
        (None,               Captured,     Forward,    &[]),
        (None,               Mql,          Skip,       &[Captured]),
        (None,               Sql,          Skip,       &[Captured, Mql]),
        (None,               Poc,          Skip,       &[Captured, Mql, Sql]),
        (None,               Signed,       Skip,       &[Captured, Mql, Sql, Poc]),
        (None,               Rejected,     Exit,       &[]),
        (None,               Recycled,     Exit,       &[]),
        (None,               Disqualified, Exit,       &[]),
        (None,               Lost,         Exit,       &[]),
        // Forward, one step.
        (Some(Captured),     Mql,          Forward,    &[]),
        (Some(Mql),          Sql,          Forward,    &[]),
        (Some(Sql),          Poc,          Forward,    &[]),
        (Some(Poc),          Signed,       Forward,    &[]),
        // Skips.
        (Some(Captured),     Sql,          Skip,       &[Mql]),
        (Some(Captured),     Poc,          Skip,       &[Mql, Sql]),
        (Some(Captured),     Signed,       Skip,       &[Mql, Sql, Poc]),
        (Some(Mql),          Poc,          Skip,       &[Sql]),
        (Some(Mql),          Signed,       Skip,       &[Sql, Poc]),
        (Some(Sql),          Signed,       Skip,       &[Poc]),
        // Regressions.
        (Some(Mql),          Captured,     Regression, &[]),
        (Some(Sql),          Mql,          Regression, &[]),
        (Some(Poc),          Sql,          Regression, &[]),
        (Some(Poc),          Mql,          Regression, &[]),
        (Some(Signed),       Poc,          Regression, &[]),
        (Some(Signed),       Captured,     Regression, &[]),
        // Exits, from the main line and from other exits.
        (Some(Mql),          Rejected,     Exit,       &[]),
        (Some(Sql),          Rejected,     Exit,       &[]),
        (Some(Captured),     Disqualified, Exit,       &[]),
        (Some(Mql),          Recycled,     Exit,       &[]),
        (Some(Poc),          Lost,         Exit,       &[]),
        (Some(Signed),       Lost,         Exit,       &[]),
        (Some(Rejected),     Recycled,     Exit,       &[]),
        (Some(Recycled),     Disqualified, Exit,       &[]),
        (Some(Disqualified), Lost,         Exit,       &[]),
        // Re-entries: back to the main line after an exit, never a skip.
        (Some(Rejected),     Mql,          Reentry,    &[]),
        (Some(Rejected),     Sql,          Reentry,    &[]),
        (Some(Recycled),     Captured,     Reentry,    &[]),
        (Some(Recycled),     Mql,          Reentry,    &[]),
        (Some(Disqualified), Mql,          Reentry,    &[]),
        (Some(Lost),         Poc,          Reentry,    &[]),
        (Some(Lost),         Signed,       Reentry,    &[]),
    ];
    for &(from, to, kind, skipped) in table {
        assert_eq!(
            TransitionKind::classify(from, to),
            (kind, skipped.to_vec()),
            "{from:?} -> {to:?}"
        );
    }
}

#[test]
fn classify_is_total_and_consistent_over_all_pairs() {
    let froms = std::iter::once(None).chain(Stage::ALL.into_iter().map(Some));
    for from in froms {
        for to in Stage::ALL {
            let (kind, skipped) = TransitionKind::classify(from, to);
            if to.is_exit() {
                assert_eq!(kind, Exit, "{from:?} -> {to:?}");
            } else if from.is_some_and(Stage::is_exit) {
                assert_eq!(kind, Reentry, "{from:?} -> {to:?}");
            }
            // Skipped stages lie strictly between the two ranks, in main-line order.
            if kind == Skip {
                let lo = from.and_then(Stage::rank).unwrap_or(0);
                let hi = to.rank().unwrap();
                let expected: Vec<Stage> = Stage::MAIN_LINE
                    .into_iter()
                    .filter(|s| (lo + 1..hi).contains(&s.rank().unwrap()))
                    .collect();
                assert_eq!(skipped, expected, "{from:?} -> {to:?}");
                assert!(!skipped.is_empty());
            } else {
                assert!(skipped.is_empty(), "{from:?} -> {to:?}");
            }
        }
    }
}

#[test]
fn ranks_and_exits() {
    let ranks: Vec<Option<u8>> = Stage::ALL.into_iter().map(Stage::rank).collect();
    assert_eq!(
        ranks,
        vec![
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(5),
            None,
            None,
            None,
            None
        ]
    );
    for s in Stage::MAIN_LINE {
        assert!(!s.is_exit());
    }
    for s in [Rejected, Recycled, Disqualified, Lost] {
        assert!(s.is_exit());
    }
}

#[test]
fn stage_numbers_and_names_round_trip() {
    for s in Stage::ALL {
        assert_eq!(Stage::from_number(s.number()), Some(s));
        assert_eq!(Stage::parse(s.as_str()), Some(s));
    }
    let numbers: Vec<i32> = Stage::ALL.into_iter().map(Stage::number).collect();
    assert_eq!(numbers, (1..=9).collect::<Vec<_>>());
    assert_eq!(Stage::from_number(0), None);
    assert_eq!(Stage::from_number(10), None);
    assert_eq!(Stage::parse("SQL"), None);
    assert_eq!(Stage::parse(""), None);
    assert_eq!(Sql.as_str(), "sql");
    assert_eq!(Disqualified.as_str(), "disqualified");
}

#[test]
fn transition_kind_names_round_trip() {
    for (k, name) in [
        (Forward, "forward"),
        (Skip, "skip"),
        (Regression, "regression"),
        (Exit, "exit"),
        (Reentry, "reentry"),
    ] {
        assert_eq!(k.as_str(), name);
        assert_eq!(TransitionKind::parse(name), Some(k));
    }
    assert_eq!(TransitionKind::parse("Forward"), None);
}
