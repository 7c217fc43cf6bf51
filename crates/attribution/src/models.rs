//! The attribution models and the weights each gives the touchpoints of a path.
//!
//! [`weights`] returns relative integer *parts*, one per touchpoint: touch `i` is credited
//! `parts[i] / Σ parts` of the value ([`crate::split`] turns that into exact integers).
//! Relative parts make the missing-milestone rule fall out naturally: a weight that has no
//! touch to go to is simply not handed out, and the weights that are handed out keep their
//! ratios — which is the same as redistributing the missing weight to the present positions
//! in proportion to their weights.
//!
//! # Position-based models
//! Every rule-based model except time decay is a [`PositionWeights`]: basis points for the
//! milestones FT, LC, OC, CW and the last touch, plus `others`, shared evenly by the
//! touchpoints that hold none of the model's weighted milestones. The rule, for a path cut at
//! the conversion:
//! 1. place the milestones on the path ([`crate::touch::Path::slots`]);
//! 2. a touch holding several milestones gets the sum of their weights (e.g. W-shaped with
//!    FT = LC: 60 %);
//! 3. `others` is split evenly across the touches holding no milestone with a positive
//!    weight in this model (for U-shaped 40/20/40 that is every touch strictly between the
//!    first and the last);
//! 4. a missing milestone, and `others` when no touch is left for it, hands out nothing: the
//!    remaining weights are scaled up proportionally;
//! 5. if nothing at all is handed out (e.g. a custom model weighting only OC on a path that
//!    never reached SQL), the path is split evenly, like [`Model::Linear`].
//!
//! Consequences for short paths: one touch gets 100 % in every model. Two touches: first
//! touch 100/0, last touch 0/100, linear 50/50, U-shaped 40:40 = 50/50, J 20:60 = 25/75,
//! inverse J 60:20 = 75/25, time decay by age; W-shaped and full path depend on where LC, OC
//! and CW fall (see [`Model`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::split::quantize;
use crate::touch::Path;
use crate::Error;

/// 100 % in basis points.
pub const BASIS_POINTS: u32 = 10_000;

/// The default time-decay half-life: 7 days (the figure practitioners quote;
/// `docs/DOMAIN.md`, §Attribution models).
pub const DEFAULT_HALF_LIFE_HOURS: u32 = 7 * 24;

/// A position-based rule in basis points (must sum to [`BASIS_POINTS`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct PositionWeights {
    /// FT: the first touchpoint.
    pub first: u32,
    /// LC: the capture touchpoint.
    pub lead_creation: u32,
    /// OC: the last touchpoint at or before SQL.
    pub opportunity_creation: u32,
    /// CW: the last touchpoint at or before signing.
    pub closed_won: u32,
    /// The last touchpoint before the conversion.
    pub last: u32,
    /// Shared evenly by the touchpoints holding no weighted milestone.
    pub others: u32,
}

impl PositionWeights {
    pub const FIRST_TOUCH: PositionWeights = PositionWeights::new(BASIS_POINTS, 0, 0, 0, 0, 0);
    pub const LAST_TOUCH: PositionWeights = PositionWeights::new(0, 0, 0, 0, BASIS_POINTS, 0);
    pub const LINEAR: PositionWeights = PositionWeights::new(0, 0, 0, 0, 0, BASIS_POINTS);
    /// 40 % first, 40 % last, 20 % across the touches in between.
    pub const U_SHAPED: PositionWeights = PositionWeights::new(4_000, 0, 0, 0, 4_000, 2_000);
    /// 50 % first touch, 50 % lead creation (one vendor's variant, `docs/DOMAIN.md`,
    /// §Attribution models), nothing to the others.
    pub const U_SHAPED_LC: PositionWeights = PositionWeights::new(5_000, 5_000, 0, 0, 0, 0);
    /// 30 % each FT, LC, OC; 10 % across the others.
    pub const W_SHAPED: PositionWeights = PositionWeights::new(3_000, 3_000, 3_000, 0, 0, 1_000);
    /// 22.5 % each FT, LC, OC, CW; 10 % across the others.
    pub const FULL_PATH: PositionWeights =
        PositionWeights::new(2_250, 2_250, 2_250, 2_250, 0, 1_000);
    /// 20 % first, 60 % last, 20 % across the touches in between.
    pub const J: PositionWeights = PositionWeights::new(2_000, 0, 0, 0, 6_000, 2_000);
    /// 60 % first, 20 % last, 20 % across the touches in between.
    pub const INVERSE_J: PositionWeights = PositionWeights::new(6_000, 0, 0, 0, 2_000, 2_000);

    pub const fn new(
        first: u32,
        lead_creation: u32,
        opportunity_creation: u32,
        closed_won: u32,
        last: u32,
        others: u32,
    ) -> PositionWeights {
        PositionWeights {
            first,
            lead_creation,
            opportunity_creation,
            closed_won,
            last,
            others,
        }
    }

    /// Rejects weights that do not sum to 100 % (a typo in a request or a config file should
    /// fail loudly, not quietly rescale).
    pub fn validate(&self) -> Result<(), Error> {
        let sum = [
            self.first,
            self.lead_creation,
            self.opportunity_creation,
            self.closed_won,
            self.last,
            self.others,
        ]
        .iter()
        .map(|&w| u64::from(w))
        .sum::<u64>();
        if sum == u64::from(BASIS_POINTS) {
            Ok(())
        } else {
            Err(Error::WeightsSum(sum))
        }
    }
}

/// Per-channel weights fitted by a data-driven model ([`crate::markov`], [`crate::shapley`]):
/// each channel's share of the credit, summing to 1 over the channels that have any.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelWeights {
    pub shares: BTreeMap<String, f64>,
}

/// An attribution model.
///
/// W-shaped and full path on short paths (LC = the capture, OC/CW = last touch at or before
/// SQL/signing): a 2-touch revenue path "visit, then capture" has FT = touch 1 and LC = OC =
/// CW = touch 2, so W-shaped gives 30:60 = ⅓/⅔ and full path 22.5:67.5 = 25/75; a 2-touch
/// MQL path "capture, then e-mail" has FT = LC = touch 1, no OC/CW yet and touch 2 as the
/// only other: W-shaped 60:10 = 6/7, 1/7 and full path 45:10 = 9/11, 2/11.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Model {
    /// 100 % to the first touchpoint.
    FirstTouch,
    /// 100 % to the last touchpoint before the conversion.
    LastTouch,
    /// Equal shares.
    Linear,
    /// Touch `i` weighs `2^(-(conversion − at_i) / half_life)`. The conversion time scales
    /// every weight by the same factor, so the split equals measuring ages from the last
    /// touch (which is what is computed: no underflow for old conversions). Touches more than
    /// ~52 half-lives older than the last one round to nothing.
    TimeDecay { half_life_hours: u32 },
    /// 40 % first, 40 % last, 20 % across the middle (position-based).
    UShaped,
    /// 50 % first touch, 50 % lead creation.
    UShapedLeadCreation,
    /// FT, LC, OC 30 % each, 10 % across the others.
    WShaped,
    /// FT, LC, OC, CW 22.5 % each, 10 % across the others.
    FullPath,
    /// 20 % first, 60 % last, 20 % across the middle.
    J,
    /// 60 % first, 20 % last, 20 % across the middle.
    InverseJ,
    /// Position weights from a request or the configuration.
    Custom(PositionWeights),
    /// Markov removal-effect shares: see [`Model::Shapley`] for how a path is credited.
    Markov(ChannelWeights),
    /// Shapley shares. A path's value is split across its touches in proportion to their
    /// channel's share divided by the number of the path's touches in that channel (so a
    /// channel's part of the path is shared evenly by its touches). A channel without a
    /// fitted share gets nothing; if no channel on the path has one, the path is split
    /// evenly.
    Shapley(ChannelWeights),
}

impl Model {
    /// Time decay with the default 7-day half-life.
    pub fn time_decay() -> Model {
        Model::TimeDecay {
            half_life_hours: DEFAULT_HALF_LIFE_HOURS,
        }
    }

    /// The rule-based models with their default parameters.
    pub fn rule_based() -> Vec<Model> {
        vec![
            Model::FirstTouch,
            Model::LastTouch,
            Model::Linear,
            Model::time_decay(),
            Model::UShaped,
            Model::UShapedLeadCreation,
            Model::WShaped,
            Model::FullPath,
            Model::J,
            Model::InverseJ,
        ]
    }

    /// The name used in requests and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Model::FirstTouch => "first_touch",
            Model::LastTouch => "last_touch",
            Model::Linear => "linear",
            Model::TimeDecay { .. } => "time_decay",
            Model::UShaped => "u_shaped",
            Model::UShapedLeadCreation => "u_shaped_lead_creation",
            Model::WShaped => "w_shaped",
            Model::FullPath => "full_path",
            Model::J => "j",
            Model::InverseJ => "inverse_j",
            Model::Custom(_) => "custom",
            Model::Markov(_) => "markov",
            Model::Shapley(_) => "shapley",
        }
    }

    /// A rule-based model by [`Model::name`], with default parameters (`custom`, `markov`
    /// and `shapley` need their weights and are not parsed here).
    pub fn parse(name: &str) -> Option<Model> {
        Model::rule_based().into_iter().find(|m| m.name() == name)
    }

    /// The position rule behind a position-based model.
    pub fn position_weights(&self) -> Option<PositionWeights> {
        Some(match self {
            Model::FirstTouch => PositionWeights::FIRST_TOUCH,
            Model::LastTouch => PositionWeights::LAST_TOUCH,
            Model::Linear => PositionWeights::LINEAR,
            Model::UShaped => PositionWeights::U_SHAPED,
            Model::UShapedLeadCreation => PositionWeights::U_SHAPED_LC,
            Model::WShaped => PositionWeights::W_SHAPED,
            Model::FullPath => PositionWeights::FULL_PATH,
            Model::J => PositionWeights::J,
            Model::InverseJ => PositionWeights::INVERSE_J,
            Model::Custom(w) => *w,
            Model::TimeDecay { .. } | Model::Markov(_) | Model::Shapley(_) => return None,
        })
    }

    /// Checks the parameters a caller can get wrong.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            Model::Custom(w) => w.validate(),
            Model::TimeDecay { half_life_hours } if *half_life_hours == 0 => Err(Error::HalfLife),
            _ => Ok(()),
        }
    }
}

/// The relative parts each touchpoint of `path` gets under `model` (empty for an empty
/// path). `path` must already be cut at the conversion ([`Path::until`]).
pub fn weights(model: &Model, path: &Path) -> Result<Vec<u64>, Error> {
    model.validate()?;
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let parts = match model {
        Model::TimeDecay { half_life_hours } => time_decay(path, *half_life_hours),
        Model::Markov(w) | Model::Shapley(w) => by_channel(path, w),
        _ => {
            let pw = model.position_weights().expect("position-based model");
            by_position(path, &pw)
        }
    };
    if parts.iter().all(|&p| p == 0) {
        // Nothing could be handed out: fall back to an even split (documented above).
        return Ok(vec![1; path.len()]);
    }
    Ok(parts)
}

fn by_position(path: &Path, w: &PositionWeights) -> Vec<u64> {
    let n = path.len();
    let s = path.slots();
    let mut slot = vec![0u64; n];
    let mut holds = vec![false; n];
    for (at, weight) in [
        (s.first, w.first),
        (s.lead_creation, w.lead_creation),
        (s.opportunity_creation, w.opportunity_creation),
        (s.closed_won, w.closed_won),
        (s.last, w.last),
    ] {
        if let (Some(i), true) = (at, weight > 0) {
            slot[i] += u64::from(weight);
            holds[i] = true;
        }
    }
    let others = holds.iter().filter(|&&h| !h).count() as u64;
    if others == 0 {
        return slot;
    }
    // `others` basis points spread over `others` touches: scale everything by the count so
    // the parts stay integers (a milestone gets w × count, each other touch gets `others`).
    (0..n)
        .map(|i| {
            if holds[i] {
                slot[i] * others
            } else {
                u64::from(w.others)
            }
        })
        .collect()
}

fn time_decay(path: &Path, half_life_hours: u32) -> Vec<u64> {
    let last = path.touches.last().expect("non-empty").at;
    let half_life_secs = f64::from(half_life_hours) * 3600.0;
    let w: Vec<f64> = path
        .touches
        .iter()
        .map(|t| {
            let age = (last - t.at).num_milliseconds() as f64 / 1000.0;
            (-age / half_life_secs).exp2()
        })
        .collect();
    quantize(&w)
}

fn by_channel(path: &Path, w: &ChannelWeights) -> Vec<u64> {
    let mut count: BTreeMap<&str, u32> = BTreeMap::new();
    for t in &path.touches {
        *count.entry(&t.channel).or_default() += 1;
    }
    let per_touch: Vec<f64> = path
        .touches
        .iter()
        .map(|t| {
            let share = w.shares.get(&t.channel).copied().unwrap_or(0.0);
            share / f64::from(count[t.channel.as_str()])
        })
        .collect();
    quantize(&per_touch)
}
