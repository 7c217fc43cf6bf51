//! Markov removal effects on hand-computed examples.

mod common;

use common::*;
use leadledger_attribution::markov::{fit, CONVERSION, NULL, START};
use leadledger_attribution::{ChannelPath, ConversionKind, Error, Milestones, Model, Path};

fn path(channels: &[&str], converted: bool) -> ChannelPath {
    ChannelPath {
        channels: channels.iter().map(|c| c.to_string()).collect(),
        converted,
        value_minor: if converted { 1 } else { 0 },
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

fn probability(m: &leadledger_attribution::markov::MarkovModel, from: &str, to: &str) -> f64 {
    m.transitions
        .iter()
        .find(|t| t.from == from && t.to == to)
        .map_or(0.0, |t| t.probability)
}

/// The classic three-journey example (Anderl et al. style):
///   C1 → C2 → C3 → conversion
///   C1 → null
///   C2 → C3 → null
///
/// Transitions (order 1): start→C1 2/3, start→C2 1/3; C1→C2 1/2, C1→null 1/2; C2→C3 1;
/// C3→conversion 1/2, C3→null 1/2.
/// P = 2/3·1/2·1·1/2 + 1/3·1·1/2 = 1/6 + 1/6 = 1/3.
/// Without C1: only start→C2→C3→conv = 1/6 → RE = 1 − (1/6)/(1/3) = 1/2.
/// Without C2 or C3: no walk reaches the conversion → RE = 1.
/// Shares: 0.5 / 2.5 = 0.2, 1 / 2.5 = 0.4, 0.4.
fn anderl() -> Vec<ChannelPath> {
    vec![
        path(&["C1", "C2", "C3"], true),
        path(&["C1"], false),
        path(&["C2", "C3"], false),
    ]
}

#[test]
fn anderl_worked_example_order_1() {
    let m = fit(&anderl(), 1).unwrap();
    assert_eq!((m.paths, m.conversions), (3, 1));
    assert_eq!(m.states, [START, "C1", "C2", "C3", CONVERSION, NULL]);
    assert!(close(probability(&m, START, "C1"), 2.0 / 3.0));
    assert!(close(probability(&m, START, "C2"), 1.0 / 3.0));
    assert!(close(probability(&m, "C1", "C2"), 0.5));
    assert!(close(probability(&m, "C1", NULL), 0.5));
    assert!(close(probability(&m, "C2", "C3"), 1.0));
    assert!(close(probability(&m, "C3", CONVERSION), 0.5));
    assert!(close(probability(&m, "C3", NULL), 0.5));
    assert!(close(m.conversion_probability, 1.0 / 3.0));
    assert!(close(m.removal_effects["C1"], 0.5));
    assert!(close(m.removal_effects["C2"], 1.0));
    assert!(close(m.removal_effects["C3"], 1.0));
    let w = m.channel_weights();
    assert!(close(w.shares["C1"], 0.2));
    assert!(close(w.shares["C2"], 0.4));
    assert!(close(w.shares["C3"], 0.4));

    // The exported matrix is row-stochastic, absorbing states loop to themselves.
    let matrix = m.matrix();
    for row in &matrix {
        assert!(close(row.iter().sum::<f64>(), 1.0));
    }
    assert_eq!(matrix[4][4], 1.0);
    assert_eq!(matrix[5][5], 1.0);
    assert!(close(matrix[0][1], 2.0 / 3.0));

    // Crediting the converting journey C1 → C2 → C3 with 1 000: 200 / 400 / 400.
    let p = Path::new(
        vec![
            touch(1, day(0), "C1"),
            touch(2, day(1), "C2"),
            touch(3, day(2), "C3"),
        ],
        Milestones::default(),
    );
    let conv = conversion(ConversionKind::Revenue, day(2), 1_000);
    assert_eq!(amounts(&conv, &p, &Model::Markov(w)), [200, 400, 400]);
}

#[test]
fn anderl_example_order_2_has_sequence_states() {
    // Order 2: start→(C1) 2/3, start→(C2) 1/3; (C1)→(C1,C2) 1/2, (C1)→null 1/2;
    // (C1,C2)→(C2,C3) 1; (C2)→(C2,C3) 1; (C2,C3)→conv 1/2, →null 1/2. Same P = 1/3 and the
    // same removal effects (a state is removed when it contains the channel).
    let m = fit(&anderl(), 2).unwrap();
    assert_eq!(
        m.states,
        [START, "C1", "C1 > C2", "C2", "C2 > C3", CONVERSION, NULL]
    );
    assert!(close(probability(&m, "C1 > C2", "C2 > C3"), 1.0));
    assert!(close(m.conversion_probability, 1.0 / 3.0));
    assert!(close(m.removal_effects["C1"], 0.5));
    assert!(close(m.removal_effects["C2"], 1.0));
}

#[test]
fn higher_order_sees_the_sequence() {
    // A → B → conversion, B → A → null.
    // Order 1: start→A 1/2, start→B 1/2; A→B 1/2, A→null 1/2; B→conv 1/2, B→A 1/2.
    //   x_A = x_B/2, x_B = 1/2 + x_A/2 → x_B = 2/3, x_A = 1/3; P = (1/3 + 2/3)/2 = 1/2.
    //   Without A: x_B = 1/2, P = 1/4 → RE(A) = 1/2. Without B: P = 0 → RE(B) = 1.
    // Order 2: start→(A)→(A,B)→conv and start→(B)→(B,A)→null, P = 1/2; removing either
    //   channel kills the converting walk → RE = 1 for both: order 2 knows that "A then B"
    //   converts and "B then A" does not.
    let paths = vec![path(&["A", "B"], true), path(&["B", "A"], false)];
    let m1 = fit(&paths, 1).unwrap();
    assert!(close(m1.conversion_probability, 0.5));
    assert!(close(m1.removal_effects["A"], 0.5));
    assert!(close(m1.removal_effects["B"], 1.0));
    let m2 = fit(&paths, 2).unwrap();
    assert!(close(m2.conversion_probability, 0.5));
    assert!(close(m2.removal_effects["A"], 1.0));
    assert!(close(m2.removal_effects["B"], 1.0));
}

#[test]
fn loops_are_solved_exactly() {
    // A → B → A → conversion, B → null.
    // A→B 1/2, A→conv 1/2; B→A 1/2, B→null 1/2; start→A 1/2, start→B 1/2.
    // x_A = 1/2 + x_B/2, x_B = x_A/2 → x_A = 2/3, x_B = 1/3; P = 1/2.
    // Without A: P = 0 → RE 1. Without B: x_A = 1/2, P = 1/4 → RE 1/2. Shares 2/3, 1/3.
    let paths = vec![path(&["A", "B", "A"], true), path(&["B"], false)];
    let m = fit(&paths, 1).unwrap();
    assert!(close(m.conversion_probability, 0.5));
    assert!(close(m.removal_effects["A"], 1.0));
    assert!(close(m.removal_effects["B"], 0.5));
    let w = m.channel_weights();
    assert!(close(w.shares["A"], 2.0 / 3.0));
}

#[test]
fn repeated_channels_are_self_loops() {
    // A → A → conversion: A→A 1/2, A→conv 1/2, start→A 1: x_A = 1/2 + x_A/2 → 1.
    let m = fit(&[path(&["A", "A"], true)], 1).unwrap();
    assert!(close(probability(&m, "A", "A"), 0.5));
    assert!(close(m.conversion_probability, 1.0));
    assert!(close(m.removal_effects["A"], 1.0));
}

#[test]
fn deterministic_and_independent_of_path_order() {
    let mut paths = anderl();
    paths.extend([
        path(&["C3", "C1"], true),
        path(&["C2", "C2", "C1"], false),
        path(&["C4"], true),
    ]);
    let a = fit(&paths, 1).unwrap();
    paths.reverse();
    let b = fit(&paths, 1).unwrap();
    assert_eq!(a, b);
    let c = fit(&paths, 3).unwrap();
    assert_eq!(c, fit(&paths, 3).unwrap());
}

#[test]
fn nothing_converted_nothing_to_share() {
    let m = fit(&[path(&["A"], false), path(&[], true)], 1).unwrap();
    // The empty converting path is skipped.
    assert_eq!((m.paths, m.conversions), (1, 0));
    assert_eq!(m.conversion_probability, 0.0);
    assert_eq!(m.removal_effects["A"], 0.0);
    assert!(m.channel_weights().shares.is_empty());
}

#[test]
fn order_zero_is_rejected() {
    assert_eq!(fit(&anderl(), 0), Err(Error::MarkovOrder));
}
