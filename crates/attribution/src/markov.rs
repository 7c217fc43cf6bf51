//! Markov-chain attribution by removal effect (Anderl, Becker, von Wangenheim & Schumann,
//! "Mapping the customer journey", 2016).
//!
//! Every path becomes a walk `(start) → s1 → … → sn → (conversion)` or `… → (null)`, where
//! for order `k` the state after the `i`-th touch is the sequence of the last `min(i, k)`
//! channels (order 1: just the channel). Repeated channels are kept (order 1: a self-loop).
//! Transition probabilities are the observed counts divided by the state's outgoing
//! count; non-converting paths count as much as converting ones — they are what makes a
//! channel that appears everywhere but rarely leads anywhere look weak.
//!
//! The conversion probability `P` is the probability of reaching `(conversion)` from
//! `(start)`, the absorbing-chain solution of `(I − Q) x = r` (Q: transient → transient,
//! r: transient → conversion), solved by Gaussian elimination with partial pivoting in a
//! fixed state order, so the result is deterministic. Removing channel `c` deletes every
//! state containing `c`; walks that would enter one are lost (they go to `(null)`), giving
//! `P₋c`. The **removal effect** is `RE(c) = 1 − P₋c / P` (clamped to `[0, 1]` against
//! rounding noise), and a channel's **share** is `RE(c) / Σ RE`. Shares are what
//! [`crate::Model::Markov`] credits paths with; the totals over all conversions are the
//! shares times the number (or value) of conversions.
//!
//! The solve is dense, `O(states³)` per removed channel: fine for order 1 (states =
//! channels); higher orders grow with the number of distinct channel sequences observed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::models::ChannelWeights;
use crate::{ChannelPath, Error};

/// The label of the start state in exports.
pub const START: &str = "(start)";
/// The label of the conversion (absorbing) state.
pub const CONVERSION: &str = "(conversion)";
/// The label of the no-conversion (absorbing) state.
pub const NULL: &str = "(null)";

/// Joins the channels of a higher-order state in its label.
const SEQ_SEP: &str = " > ";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Start,
    Seq(Vec<String>),
    Conversion,
    Null,
}

impl State {
    fn label(&self) -> String {
        match self {
            State::Start => START.to_string(),
            State::Seq(s) => s.join(SEQ_SEP),
            State::Conversion => CONVERSION.to_string(),
            State::Null => NULL.to_string(),
        }
    }

    fn contains(&self, channel: &str) -> bool {
        matches!(self, State::Seq(s) if s.iter().any(|c| c == channel))
    }
}

/// One observed transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkovTransition {
    pub from: String,
    pub to: String,
    pub count: u64,
    /// `count / (outgoing count of `from`)`.
    pub probability: f64,
}

/// A fitted chain: the export (states, transitions) and the attribution (removal effects).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkovModel {
    pub order: usize,
    /// Paths used (paths without touches are skipped) and how many of them converted.
    pub paths: usize,
    pub conversions: usize,
    /// State labels in matrix order: `(start)`, the channel states (sorted),
    /// `(conversion)`, `(null)`.
    pub states: Vec<String>,
    /// Every observed transition, in matrix order.
    pub transitions: Vec<MarkovTransition>,
    /// `P`: the probability of converting from `(start)`.
    pub conversion_probability: f64,
    /// `RE(c)` per channel (every channel seen on any path).
    pub removal_effects: BTreeMap<String, f64>,
}

impl MarkovModel {
    /// The transition matrix in [`MarkovModel::states`] order; the absorbing states
    /// `(conversion)` and `(null)` loop to themselves with probability 1.
    pub fn matrix(&self) -> Vec<Vec<f64>> {
        let n = self.states.len();
        let index: BTreeMap<&str, usize> = self
            .states
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect();
        let mut m = vec![vec![0.0; n]; n];
        for t in &self.transitions {
            m[index[t.from.as_str()]][index[t.to.as_str()]] = t.probability;
        }
        m[n - 2][n - 2] = 1.0;
        m[n - 1][n - 1] = 1.0;
        m
    }

    /// Each channel's share of the credit: `RE(c) / Σ RE`. Empty when nothing converted.
    pub fn channel_weights(&self) -> ChannelWeights {
        let total: f64 = self.removal_effects.values().sum();
        ChannelWeights {
            shares: if total > 0.0 {
                self.removal_effects
                    .iter()
                    .map(|(c, re)| (c.clone(), re / total))
                    .collect()
            } else {
                BTreeMap::new()
            },
        }
    }
}

/// Fits a chain of `order` (≥ 1) on `paths`. With no converting path, `P` and every removal
/// effect are 0 (and [`MarkovModel::channel_weights`] is empty).
pub fn fit(paths: &[ChannelPath], order: usize) -> Result<MarkovModel, Error> {
    if order == 0 {
        return Err(Error::MarkovOrder);
    }
    let mut counts: BTreeMap<(State, State), u64> = BTreeMap::new();
    let mut channels: BTreeSet<String> = BTreeSet::new();
    let (mut used, mut conversions) = (0, 0);
    for p in paths.iter().filter(|p| !p.channels.is_empty()) {
        used += 1;
        conversions += usize::from(p.converted);
        channels.extend(p.channels.iter().cloned());
        let mut from = State::Start;
        for i in 0..p.channels.len() {
            let to = State::Seq(p.channels[(i + 1).saturating_sub(order)..=i].to_vec());
            *counts.entry((from, to.clone())).or_default() += 1;
            from = to;
        }
        let end = if p.converted {
            State::Conversion
        } else {
            State::Null
        };
        *counts.entry((from, end)).or_default() += 1;
    }

    // Matrix order: Start < Seq(sorted) < Conversion < Null, which is the derived `Ord`.
    let mut states: BTreeSet<State> =
        BTreeSet::from([State::Start, State::Conversion, State::Null]);
    for (from, to) in counts.keys() {
        states.insert(from.clone());
        states.insert(to.clone());
    }
    let mut outgoing: BTreeMap<&State, u64> = BTreeMap::new();
    for ((from, _), n) in &counts {
        *outgoing.entry(from).or_default() += n;
    }
    let probability = |from: &State, n: u64| n as f64 / outgoing[from] as f64;

    let transient: Vec<&State> = states
        .iter()
        .filter(|s| matches!(s, State::Start | State::Seq(_)))
        .collect();
    let solve_without = |removed: Option<&str>| -> f64 {
        let kept: Vec<&State> = transient
            .iter()
            .copied()
            .filter(|s| removed.is_none_or(|c| !s.contains(c)))
            .collect();
        let index: BTreeMap<&State, usize> =
            kept.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let n = kept.len();
        // (I − Q) x = r
        let mut a = vec![vec![0.0; n]; n];
        let mut r = vec![0.0; n];
        for (i, row) in a.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        for ((from, to), &c) in &counts {
            let Some(&i) = index.get(from) else { continue };
            match to {
                State::Conversion => r[i] += probability(from, c),
                State::Null | State::Start => {}
                State::Seq(_) => {
                    if let Some(&j) = index.get(to) {
                        a[i][j] -= probability(from, c);
                    }
                }
            }
        }
        solve(a, r)[0]
    };

    let p = solve_without(None);
    let removal_effects = channels
        .iter()
        .map(|c| {
            let re = if p > 0.0 {
                (1.0 - solve_without(Some(c)) / p).clamp(0.0, 1.0)
            } else {
                0.0
            };
            (c.clone(), re)
        })
        .collect();

    let transitions = counts
        .iter()
        .map(|((from, to), &n)| MarkovTransition {
            from: from.label(),
            to: to.label(),
            count: n,
            probability: probability(from, n),
        })
        .collect();
    Ok(MarkovModel {
        order,
        paths: used,
        conversions,
        states: states.iter().map(State::label).collect(),
        transitions,
        conversion_probability: p,
        removal_effects,
    })
}

/// Gaussian elimination with partial pivoting (first row wins ties), for the non-singular
/// systems of absorbing chains: every transient state was observed to move on, and every
/// walk ends absorbed, so `I − Q` is invertible.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let mut pivot = col;
        for row in col + 1..n {
            if a[row][col].abs() > a[pivot][col].abs() {
                pivot = row;
            }
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let d = a[col][col];
        if d == 0.0 {
            continue;
        }
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let f = row[col] / d;
            if f == 0.0 {
                continue;
            }
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[col + 1 + offset] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = if a[row][row] == 0.0 {
            0.0
        } else {
            (b[row] - s) / a[row][row]
        };
    }
    x
}
