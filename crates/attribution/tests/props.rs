//! Property tests: exactness, non-negativity and determinism on random paths.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use leadledger_attribution::split::split;
use leadledger_attribution::{
    credit, journey, markov, shapley, ChannelPath, ChannelWeights, ConversionKind, Error,
    Milestones, Model, Path, PositionWeights, Touchpoint,
};
use proptest::prelude::*;

const CHANNELS: [&str; 6] = ["seo", "sem", "email", "webinar", "event", "referral"];

/// Touch times on a 6-hour grid over 10 days, so equal timestamps are common.
fn touches() -> impl Strategy<Value = Vec<Touchpoint>> {
    prop::collection::vec((0i64..40, 0usize..CHANNELS.len()), 1..30).prop_flat_map(|raw| {
        let n = raw.len();
        (
            Just(raw),
            Just((1..=n as u128).collect::<Vec<_>>()).prop_shuffle(),
        )
            .prop_map(|(raw, ids)| {
                raw.into_iter()
                    .zip(ids)
                    .map(|((slot, ch), id)| touch(id * 7919, hours(slot * 6), CHANNELS[ch]))
                    .collect()
            })
    })
}

fn custom_weights() -> impl Strategy<Value = PositionWeights> {
    prop::collection::vec(0u32..=10_000, 5).prop_map(|mut cuts| {
        cuts.sort_unstable();
        let mut w = [0u32; 6];
        let mut prev = 0;
        for (i, c) in cuts.iter().enumerate() {
            w[i] = c - prev;
            prev = *c;
        }
        w[5] = 10_000 - prev;
        PositionWeights::new(w[0], w[1], w[2], w[3], w[4], w[5])
    })
}

fn channel_weights() -> impl Strategy<Value = ChannelWeights> {
    prop::collection::btree_map(0usize..CHANNELS.len(), 0.0f64..1.0, 0..CHANNELS.len()).prop_map(
        |m| ChannelWeights {
            shares: m
                .into_iter()
                .map(|(c, w)| (CHANNELS[c].to_string(), w))
                .collect(),
        },
    )
}

fn models() -> impl Strategy<Value = Vec<Model>> {
    (
        1u32..2_000,
        custom_weights(),
        channel_weights(),
        channel_weights(),
    )
        .prop_map(|(half_life_hours, custom, mw, sw)| {
            let mut m = Model::rule_based();
            m.push(Model::TimeDecay { half_life_hours });
            m.push(Model::Custom(custom));
            m.push(Model::Markov(mw));
            m.push(Model::Shapley(sw));
            m
        })
}

type Case = (Path, leadledger_attribution::Conversion);

fn case() -> impl Strategy<Value = Case> {
    (
        touches(),
        any::<prop::sample::Index>(),
        any::<bool>(),
        prop::option::of(0i64..45),
        prop::option::of(0i64..45),
        0i64..45,
        1i64..=1_000_000_000_000,
    )
        .prop_map(|(t, cap, has_cap, sql, signed, conv, value)| {
            let capture = has_cap.then(|| t[cap.index(t.len())].event_id);
            let path = Path::new(
                t,
                Milestones {
                    capture,
                    sql_at: sql.map(|s| hours(s * 6)),
                    signed_at: signed.map(|s| hours(s * 6)),
                },
            );
            (
                path,
                conversion(ConversionKind::Revenue, hours(conv * 6), value),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_model_credits_exactly_the_value((path, conv) in case(), models in models(), seed in any::<u64>()) {
        let on_path = path.touches.iter().filter(|t| t.at <= conv.at).count();
        // The same touches in another order make the same path.
        let mut shuffled = path.touches.clone();
        let k = (seed % shuffled.len() as u64) as usize;
        shuffled.rotate_left(k);
        shuffled.reverse();
        let shuffled = Path::new(shuffled, path.milestones.clone());
        for model in &models {
            let got = credit(&conv, &path, model);
            if on_path == 0 {
                prop_assert_eq!(got, Err(Error::EmptyPath));
                continue;
            }
            let credits = got.unwrap();
            prop_assert_eq!(credits.len(), on_path);
            prop_assert_eq!(credits.iter().map(|c| c.amount_minor).sum::<i64>(), conv.value_minor, "{}", model.name());
            prop_assert!(credits.iter().all(|c| c.amount_minor >= 0), "{}", model.name());
            prop_assert_eq!(&credit(&conv, &shuffled, model).unwrap(), &credits, "{}", model.name());
        }
    }

    #[test]
    fn split_is_exact_fair_and_monotone(
        value in -1_000_000_000_000_000i64..=1_000_000_000_000_000,
        parts in prop::collection::vec(prop_oneof![Just(0u64), 0u64..10, any::<u64>()], 1..40),
    ) {
        let out = split(value, &parts);
        prop_assert_eq!(out.len(), parts.len());
        prop_assert_eq!(out.iter().map(|&c| i128::from(c)).sum::<i128>(), i128::from(value));
        let total: u128 = parts.iter().map(|&p| u128::from(p)).sum();
        if total > 0 {
            for (i, (&c, &p)) in out.iter().zip(&parts).enumerate() {
                // Within one unit of the exact share, same sign as the value.
                let exact = value.unsigned_abs() as f64 * p as f64 / total as f64;
                prop_assert!((c.unsigned_abs() as f64 - exact).abs() < 1.0 + exact * 1e-12, "{i}: {c} vs {exact}");
                prop_assert!(c == 0 || c.signum() == value.signum());
                if p == 0 { prop_assert_eq!(c, 0); }
            }
            // A larger part never gets less.
            for i in 0..parts.len() {
                for j in 0..parts.len() {
                    if parts[i] > parts[j] {
                        prop_assert!(out[i].unsigned_abs() >= out[j].unsigned_abs());
                    }
                }
            }
        }
    }

    #[test]
    fn markov_is_deterministic_and_bounded(
        raw in prop::collection::vec((prop::collection::vec(0usize..5, 1..6), any::<bool>()), 1..25),
        order in 1usize..4,
    ) {
        let paths: Vec<ChannelPath> = raw.iter().map(|(ch, conv)| ChannelPath {
            channels: ch.iter().map(|&c| CHANNELS[c].to_string()).collect(),
            converted: *conv,
            value_minor: i64::from(*conv),
        }).collect();
        let a = markov::fit(&paths, order).unwrap();
        let mut rev = paths.clone();
        rev.reverse();
        prop_assert_eq!(&a, &markov::fit(&rev, order).unwrap());
        prop_assert!((0.0..=1.0 + 1e-12).contains(&a.conversion_probability));
        for re in a.removal_effects.values() {
            prop_assert!((0.0..=1.0).contains(re));
        }
        // Every channel of a converting path has a positive removal effect.
        for p in paths.iter().filter(|p| p.converted) {
            for c in &p.channels {
                prop_assert!(a.removal_effects[c] > 0.0, "{c}");
            }
        }
        for row in a.matrix() {
            prop_assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9 || row.iter().all(|&x| x == 0.0));
        }
    }

    #[test]
    fn exact_shapley_is_the_even_split_and_sums_to_the_total(
        raw in prop::collection::vec((prop::collection::vec(0usize..6, 1..6), 0i64..1_000_000), 1..25),
    ) {
        let paths: Vec<ChannelPath> = raw.iter().map(|(ch, v)| ChannelPath {
            channels: ch.iter().map(|&c| CHANNELS[c].to_string()).collect(),
            converted: *v > 0,
            value_minor: *v,
        }).collect();
        let m = shapley::fit(&paths, &shapley::ShapleyConfig::default());
        let mut even: BTreeMap<&str, f64> = BTreeMap::new();
        for p in paths.iter().filter(|p| p.converted) {
            let set: BTreeSet<&str> = p.channels.iter().map(String::as_str).collect();
            for c in &set {
                *even.entry(c).or_default() += p.value_minor as f64 / set.len() as f64;
            }
        }
        for (c, v) in &m.values {
            let e = even.get(c.as_str()).copied().unwrap_or(0.0);
            prop_assert!((v - e).abs() <= 1e-6 * (1.0 + e), "{c}: {v} vs {e}");
        }
        let total: f64 = m.values.values().sum();
        prop_assert!((total - m.total_value as f64).abs() <= 1e-6 * (1.0 + total));
    }

    #[test]
    fn journeys_ignore_delivery_order_and_duplicates(
        raw in prop::collection::vec((0i64..20, 0usize..CHANNELS.len()), 0..12),
        cap in 0i64..20,
        rotate in any::<prop::sample::Index>(),
    ) {
        let mut events = vec![captured("L", 1, hours(cap * 6), "webinar", "acme.com", "")];
        for (i, (slot, ch)) in raw.iter().enumerate() {
            events.push(touched("L", 100 + i as u128, hours(slot * 6), CHANNELS[*ch]));
        }
        events.push(mql("L", 2, hours(cap * 6 + 1)));
        let a = journey(&events);
        let k = rotate.index(events.len());
        events.rotate_left(k);
        events.push(events[0].clone());
        events.reverse();
        prop_assert_eq!(&a, &journey(&events));
        prop_assert_eq!(a.path.len(), raw.len() + 1);
        prop_assert!(a.path.touches.windows(2).all(|w| w[0].order_key() < w[1].order_key()));
    }
}
