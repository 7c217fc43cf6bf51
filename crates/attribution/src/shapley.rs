//! Shapley-value attribution: channels as players of a cooperative game.
//!
//! **Worth of a coalition.** `v(S)` = the total converted value of the converting paths
//! whose channels all lie in `S` (a coalition "earns" a conversion when it covers the whole
//! path; the usual definition in marketing, e.g. Zhao et al., "Shapley Value Methods for
//! Attribution Modeling in Online Advertising", 2018). Only converting paths carry worth;
//! channels seen only on non-converting paths are null players with value 0 (the Markov
//! model is the one that learns from non-conversions).
//!
//! **Shapley value.** `φ(i) = Σ_{S ⊆ N∖{i}} |S|! (n−|S|−1)! / n! · (v(S ∪ {i}) − v(S))`, the
//! average marginal worth of `i` over all orders in which the channels could join. It is
//! computed
//! - **exactly** when at most [`ShapleyConfig::max_exact_channels`] channels (default 12)
//!   carry worth: all `2^n` coalitions, in integer arithmetic (`φ · n!` is an integer), so
//!   the values are exact rationals and ties are real ties;
//! - **by sampling** above that: [`ShapleyConfig::samples`] random join orders from a
//!   ChaCha8 generator seeded with [`ShapleyConfig::seed`]; the same paths, seed and sample
//!   count always give the same values.
//!
//! With this worth, `v` is a sum of unanimity games (one per distinct channel set), so the
//! exact value also equals "each converting path's value split evenly across its distinct
//! channels" (tested). The enumeration is kept because it is the definition, and the sampler
//! because other worth functions (e.g. conversion rates) have no such shortcut.
//!
//! A channel's **share** is `φ(i) / Σ φ`; [`crate::Model::Shapley`] credits paths with it.

use std::collections::{BTreeMap, BTreeSet};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::models::ChannelWeights;
use crate::ChannelPath;

/// The most channels computed exactly whatever the configuration says: 2^16 coalitions,
/// and `16! × total value` stays inside 128 bits for totals up to 8 · 10^24 minor units.
pub const EXACT_LIMIT: usize = 16;

/// How the values are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShapleyConfig {
    /// Exact up to this many channels with worth (capped at [`EXACT_LIMIT`]).
    pub max_exact_channels: usize,
    /// Join orders sampled above that.
    pub samples: u32,
    /// Seed of the sampler.
    pub seed: u64,
}

impl Default for ShapleyConfig {
    fn default() -> ShapleyConfig {
        ShapleyConfig {
            max_exact_channels: 12,
            samples: 10_000,
            seed: 0x5eed,
        }
    }
}

/// How a result was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    Exact,
    Sampled { samples: u32, seed: u64 },
}

/// Shapley values per channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapleyModel {
    pub method: Method,
    /// `φ` per channel, in the paths' value units (every channel seen on any path; 0 for
    /// channels that never were on a converting path). Sums to the total converted value
    /// (exactly up to float rounding when exact; by construction when sampled).
    pub values: BTreeMap<String, f64>,
    /// The converted value the game distributes, `v(N)`.
    pub total_value: i128,
}

impl ShapleyModel {
    /// Each channel's share: `φ(i) / Σ φ` (channels with `φ = 0` left out). Empty when
    /// nothing converted.
    pub fn channel_weights(&self) -> ChannelWeights {
        let total: f64 = self.values.values().filter(|v| **v > 0.0).sum();
        ChannelWeights {
            shares: self
                .values
                .iter()
                .filter(|(_, v)| **v > 0.0 && total > 0.0)
                .map(|(c, v)| (c.clone(), v / total))
                .collect(),
        }
    }
}

/// Computes the Shapley values of the channels on `paths`.
pub fn fit(paths: &[ChannelPath], config: &ShapleyConfig) -> ShapleyModel {
    let all: BTreeSet<&str> = paths
        .iter()
        .flat_map(|p| p.channels.iter().map(String::as_str))
        .collect();
    let converting: Vec<&ChannelPath> = paths
        .iter()
        .filter(|p| p.converted && !p.channels.is_empty())
        .collect();
    let players: Vec<&str> = converting
        .iter()
        .flat_map(|p| p.channels.iter().map(String::as_str))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: BTreeMap<&str, usize> = players.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    // The game: worth per distinct channel set (sorted player indices).
    let mut worth: BTreeMap<Vec<usize>, i128> = BTreeMap::new();
    for p in &converting {
        let set: BTreeSet<usize> = p.channels.iter().map(|c| index[c.as_str()]).collect();
        *worth.entry(set.into_iter().collect()).or_default() += i128::from(p.value_minor);
    }
    let total_value = worth.values().sum();

    let n = players.len();
    let (method, phi) = if n <= config.max_exact_channels.min(EXACT_LIMIT) {
        (Method::Exact, exact(n, &worth))
    } else {
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        (
            Method::Sampled {
                samples: config.samples,
                seed: config.seed,
            },
            sampled(n, &worth, config.samples, rng),
        )
    };
    let mut values: BTreeMap<String, f64> = all.iter().map(|c| (c.to_string(), 0.0)).collect();
    for (i, c) in players.iter().enumerate() {
        values.insert(c.to_string(), phi[i]);
    }
    ShapleyModel {
        method,
        values,
        total_value,
    }
}

/// All coalitions: `v` by a subset-sum (zeta) transform, then the Shapley sum scaled by
/// `n!` in integers, divided once at the end.
fn exact(n: usize, worth: &BTreeMap<Vec<usize>, i128>) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let size = 1usize << n;
    let mut v = vec![0i128; size];
    for (set, w) in worth {
        v[set.iter().fold(0usize, |m, &i| m | 1 << i)] += w;
    }
    for i in 0..n {
        for s in 0..size {
            if s & (1 << i) != 0 {
                v[s] += v[s ^ (1 << i)];
            }
        }
    }
    let fact: Vec<i128> = (0..=n as i128)
        .scan(1i128, |f, k| {
            *f *= k.max(1);
            Some(*f)
        })
        .collect();
    (0..n)
        .map(|i| {
            let bit = 1usize << i;
            let scaled: i128 = (0..size)
                .filter(|s| s & bit == 0)
                .map(|s| {
                    let k = s.count_ones() as usize;
                    fact[k] * fact[n - k - 1] * (v[s | bit] - v[s])
                })
                .sum();
            scaled as f64 / fact[n] as f64
        })
        .collect()
}

/// Random join orders: in each, a channel's marginal worth is the worth of the channel sets
/// it completes, i.e. those whose last member to join it is.
fn sampled(
    n: usize,
    worth: &BTreeMap<Vec<usize>, i128>,
    samples: u32,
    mut rng: ChaCha8Rng,
) -> Vec<f64> {
    let mut total = vec![0i128; n];
    let mut order: Vec<usize> = (0..n).collect();
    let mut position = vec![0usize; n];
    for _ in 0..samples {
        order.shuffle(&mut rng);
        for (k, &p) in order.iter().enumerate() {
            position[p] = k;
        }
        for (set, w) in worth {
            let last = *set
                .iter()
                .max_by_key(|&&p| position[p])
                .expect("non-empty set");
            total[last] += w;
        }
    }
    let samples = f64::from(samples.max(1));
    total.into_iter().map(|t| t as f64 / samples).collect()
}
