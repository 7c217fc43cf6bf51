//! Shapley values on hand-computed games, and the seeded sampler.

mod common;

use std::collections::BTreeMap;

use common::*;
use leadledger_attribution::shapley::{fit, Method, ShapleyConfig};
use leadledger_attribution::{ChannelPath, ConversionKind, Milestones, Model, Path};

fn path(channels: &[&str], value: i64) -> ChannelPath {
    ChannelPath {
        channels: channels.iter().map(|c| c.to_string()).collect(),
        converted: value > 0,
        value_minor: value,
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn two_channels_by_hand() {
    // {A} converts 10, {A, B} converts 20, {B} does not convert.
    // v(∅) = 0, v(A) = 10, v(B) = 0, v(AB) = 30.
    // φ(A) = ½·(v(A) − v(∅)) + ½·(v(AB) − v(B)) = 5 + 15 = 20.
    // φ(B) = ½·(v(B) − v(∅)) + ½·(v(AB) − v(A)) = 0 + 10 = 10.
    let m = fit(
        &[path(&["A"], 10), path(&["A", "B"], 20), path(&["B"], 0)],
        &ShapleyConfig::default(),
    );
    assert_eq!(m.method, Method::Exact);
    assert_eq!(m.total_value, 30);
    assert_eq!(m.values["A"], 20.0);
    assert_eq!(m.values["B"], 10.0);
    let w = m.channel_weights();
    assert!(close(w.shares["A"], 2.0 / 3.0, 1e-15));
}

/// {A,B} 60, {B,C} 30, {A,B,C} 90, {C} 30 (a repeated channel counts once).
/// v: A 0, B 0, C 30, AB 60, AC 30, BC 60, ABC 210.
/// Weights for n = 3: |S| = 0 → 1/3, |S| = 1 → 1/6, |S| = 2 → 1/3.
/// φ(A) = ⅓·0 + ⅙·(60 − 0) + ⅙·(30 − 30) + ⅓·(210 − 60) = 10 + 50 = 60.
/// φ(B) = ⅓·0 + ⅙·(60 − 0) + ⅙·(60 − 30) + ⅓·(210 − 30) = 10 + 5 + 60 = 75.
/// φ(C) = ⅓·30 + ⅙·(30 − 0) + ⅙·(60 − 0) + ⅓·(210 − 60) = 10 + 5 + 10 + 50 = 75.
fn three_channels() -> Vec<ChannelPath> {
    vec![
        path(&["A", "B"], 60),
        path(&["B", "C", "B"], 30),
        path(&["A", "B", "C"], 90),
        path(&["C"], 30),
        path(&["D", "A"], 0),
    ]
}

#[test]
fn three_channels_by_hand() {
    let m = fit(&three_channels(), &ShapleyConfig::default());
    assert_eq!(m.method, Method::Exact);
    assert_eq!(m.values["A"], 60.0);
    assert_eq!(m.values["B"], 75.0);
    assert_eq!(m.values["C"], 75.0);
    // D was only on a non-converting path: a null player.
    assert_eq!(m.values["D"], 0.0);
    assert!(!m.channel_weights().shares.contains_key("D"));

    // Crediting the A → B → C journey of 210: shares 60/210, 75/210, 75/210.
    let p = Path::new(
        vec![
            touch(1, day(0), "A"),
            touch(2, day(1), "B"),
            touch(3, day(2), "C"),
        ],
        Milestones::default(),
    );
    let conv = conversion(ConversionKind::Revenue, day(2), 210);
    assert_eq!(
        amounts(&conv, &p, &Model::Shapley(m.channel_weights())),
        [60, 75, 75]
    );
}

#[test]
fn exact_equals_the_per_path_even_split() {
    // With the covering worth, v is a sum of unanimity games: each converting path's value
    // split evenly over its distinct channels.
    let paths = three_channels();
    let m = fit(&paths, &ShapleyConfig::default());
    let mut even: BTreeMap<String, f64> = BTreeMap::new();
    for p in paths.iter().filter(|p| p.converted) {
        let set: std::collections::BTreeSet<&String> = p.channels.iter().collect();
        for c in &set {
            *even.entry((*c).clone()).or_default() += p.value_minor as f64 / set.len() as f64;
        }
    }
    for (c, v) in even {
        assert!(close(m.values[&c], v, 1e-9), "{c}");
    }
}

#[test]
fn sampling_is_seeded_and_close() {
    // Force sampling on the 3-channel game: same seed → identical values; the estimate is
    // near the exact 60 / 75 / 75 and sums exactly to the total.
    let cfg = ShapleyConfig {
        max_exact_channels: 0,
        samples: 20_000,
        seed: 7,
    };
    let a = fit(&three_channels(), &cfg);
    let b = fit(&three_channels(), &cfg);
    assert_eq!(a, b);
    assert_eq!(
        a.method,
        Method::Sampled {
            samples: 20_000,
            seed: 7
        }
    );
    assert!(close(a.values.values().sum::<f64>(), 210.0, 1e-9));
    assert!(close(a.values["A"], 60.0, 2.0), "{:?}", a.values);
    assert!(close(a.values["B"], 75.0, 2.0), "{:?}", a.values);
    let other = fit(&three_channels(), &ShapleyConfig { seed: 8, ..cfg });
    assert_ne!(a.values, other.values);
}

#[test]
fn more_than_twelve_channels_are_sampled_deterministically() {
    // 14 channels on overlapping journeys.
    let names: Vec<String> = (0..14).map(|i| format!("ch{i:02}")).collect();
    let mut paths = Vec::new();
    for i in 0..14 {
        let chans: Vec<&str> = (0..3).map(|k| names[(i + k * 5) % 14].as_str()).collect();
        paths.push(path(&chans, 100 + i as i64));
        paths.push(path(&[names[i].as_str()], if i % 3 == 0 { 50 } else { 0 }));
    }
    let cfg = ShapleyConfig::default();
    let a = fit(&paths, &cfg);
    assert!(matches!(a.method, Method::Sampled { .. }));
    assert_eq!(a, fit(&paths, &cfg));
    // The estimate sums to v(N) and is near the exact (even-split) value.
    let total: f64 = a.values.values().sum();
    assert!(close(total, a.total_value as f64, 1e-6));
    let exact = fit(
        &paths,
        &ShapleyConfig {
            max_exact_channels: 16,
            ..cfg
        },
    );
    assert_eq!(exact.method, Method::Exact);
    for (c, v) in &exact.values {
        assert!(
            close(a.values[c], *v, 0.05 * *v + 1.0),
            "{c}: {} vs {v}",
            a.values[c]
        );
    }
}

#[test]
fn nothing_converted() {
    let m = fit(&[path(&["A"], 0)], &ShapleyConfig::default());
    assert_eq!(m.total_value, 0);
    assert_eq!(m.values["A"], 0.0);
    assert!(m.channel_weights().shares.is_empty());
}
