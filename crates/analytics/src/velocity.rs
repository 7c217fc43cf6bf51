//! Velocity (docs/ANALYTICS.md, "Velocity"): per group and stage, the time in stage of the
//! completed stays (nearest-rank P50 and P90, mean), the open stays, the leads that entered
//! each main-line stage before signed and those that entered a later one within the window,
//! and the open stays older at `at` than their group's P90 (stalled).
//!
//! Fed one lead at a time ([`Accumulator::add`]), so a caller can stream a tenant's stays
//! from the database without holding its rows: what is kept is one duration per completed
//! stay and one entry per open stay. Exact: no sketch, times in whole microseconds (the
//! database's precision).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use leadledger_domain::Stage;

use crate::{micros, LeadStays, Owner};

/// The window and the instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// A lead advanced from a stage when it entered a later main-line stage within this much
    /// business time of its first entry into that stage.
    pub window: TimeDelta,
    /// The instant open stays are measured at.
    pub at: DateTime<Utc>,
    /// At most this many stalled leads listed.
    pub stalled_limit: usize,
    /// The stages a lead can stall in; empty: every stage that is not final.
    pub stalled_stages: StageSet,
}

/// A set of stages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageSet(u16);

impl StageSet {
    pub fn insert(&mut self, stage: Stage) {
        self.0 |= 1 << stage.number();
    }

    pub fn contains(self, stage: Stage) -> bool {
        self.0 & (1 << stage.number()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether a lead can stall in `stage`: never in a final one, and only in the set's
    /// stages unless it is empty.
    fn can_stall(self, stage: Stage) -> bool {
        !is_final(stage) && (self.is_empty() || self.contains(stage))
    }
}

/// The figures of one stage in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct StageFigures {
    pub stage: Stage,
    pub completed: u64,
    pub open: u64,
    /// Nearest-rank percentiles of the completed stays' time in stage, in microseconds;
    /// `None` without a completed stay.
    pub p50_us: Option<i64>,
    pub p90_us: Option<i64>,
    /// Mean time in stage, in seconds.
    pub mean_s: Option<f64>,
    /// Main-line stages before signed: leads that entered the stage.
    pub entered: u64,
    /// Of those, leads that entered a later main-line stage within the window.
    pub advanced: u64,
    /// Open stays older at `at` than `p90_us`.
    pub stalled: u64,
}

/// One group: its key and every stage with a stay, in stage order.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub key: Vec<String>,
    pub stages: Vec<StageFigures>,
}

/// A lead in a stage for longer than its group's P90 there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stalled {
    pub lead_id: String,
    pub key: Vec<String>,
    pub stage: Stage,
    pub entered_at: DateTime<Utc>,
    /// Time in the stage at `at`, in microseconds.
    pub in_stage_us: i64,
    pub p90_us: i64,
    pub owner: Owner,
}

/// The answer: groups ordered by key, stalled leads the furthest past their P90 first (ties
/// by lead id, then stage), at most `stalled_limit` of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Velocity {
    pub groups: Vec<Group>,
    pub stalled: Vec<Stalled>,
}

/// Signed, disqualified and lost are final: a lead never stalls there.
pub fn is_final(stage: Stage) -> bool {
    matches!(stage, Stage::Signed | Stage::Disqualified | Stage::Lost)
}

/// The nearest-rank percentile of an ascending sample: the value at position ⌈p·n⌉
/// (1-based), computed as PostgreSQL's `percentile_disc` computes it.
pub fn nearest_rank(sorted: &[i64], p: f64) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

#[derive(Debug, Default)]
struct StageAcc {
    durations_us: Vec<i64>,
    open: u64,
    entered: u64,
    advanced: u64,
}

#[derive(Debug)]
struct OpenStay {
    group: usize,
    lead_id: String,
    stage: Stage,
    entered_at: DateTime<Utc>,
    owner: Owner,
}

/// Velocity built one lead at a time.
#[derive(Debug)]
pub struct Accumulator {
    params: Params,
    keys: HashMap<Vec<String>, usize>,
    /// Per group (index in `keys`): per stage number.
    groups: Vec<(Vec<String>, BTreeMap<i32, StageAcc>)>,
    open: Vec<OpenStay>,
}

impl Accumulator {
    pub fn new(params: Params) -> Self {
        Self {
            params,
            keys: HashMap::new(),
            groups: Vec::new(),
            open: Vec::new(),
        }
    }

    /// Adds one lead (each lead once).
    pub fn add(&mut self, lead: LeadStays) {
        if lead.stays.is_empty() {
            return;
        }
        let group = match self.keys.get(&lead.key) {
            Some(g) => *g,
            None => {
                self.groups.push((lead.key.clone(), BTreeMap::new()));
                self.keys.insert(lead.key, self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        let stages = &mut self.groups[group].1;
        for stay in &lead.stays {
            let acc = stages.entry(stay.stage.number()).or_default();
            match stay.exited_at {
                Some(exited) => acc.durations_us.push(micros(exited - stay.entered_at)),
                None => {
                    acc.open += 1;
                    self.open.push(OpenStay {
                        group,
                        lead_id: lead.lead_id.clone(),
                        stage: stay.stage,
                        entered_at: stay.entered_at,
                        owner: lead.owner.clone(),
                    });
                }
            }
        }
        for stage in &Stage::MAIN_LINE[..4] {
            let Some(first) = lead
                .stays
                .iter()
                .filter(|s| s.stage == *stage)
                .map(|s| s.entered_at)
                .min()
            else {
                continue;
            };
            let rank = stage.rank();
            let next = lead
                .stays
                .iter()
                .filter(|s| s.stage.rank() > rank && s.entered_at >= first)
                .map(|s| s.entered_at)
                .min();
            let acc = stages.entry(stage.number()).or_default();
            acc.entered += 1;
            if next.is_some_and(|n| n - first <= self.params.window) {
                acc.advanced += 1;
            }
        }
    }

    /// The figures of every lead added.
    pub fn finish(mut self) -> Velocity {
        let mut figures: Vec<Vec<StageFigures>> = Vec::with_capacity(self.groups.len());
        for (_, stages) in &mut self.groups {
            let mut out = Vec::new();
            for (number, acc) in stages.iter_mut() {
                acc.durations_us.sort_unstable();
                let d = &acc.durations_us;
                let sum: i128 = d.iter().map(|&x| i128::from(x)).sum();
                let figure = StageFigures {
                    stage: Stage::from_number(*number).expect("stored from a stage"),
                    completed: d.len() as u64,
                    open: acc.open,
                    p50_us: nearest_rank(d, 0.5),
                    p90_us: nearest_rank(d, 0.9),
                    mean_s: (!d.is_empty()).then(|| sum as f64 / d.len() as f64 / 1e6),
                    entered: acc.entered,
                    advanced: acc.advanced,
                    stalled: 0,
                };
                out.push(figure);
            }
            figures.push(out);
        }
        let at = self.params.at;
        let mut stalled: Vec<Stalled> = Vec::new();
        for o in self.open {
            if !self.params.stalled_stages.can_stall(o.stage) {
                continue;
            }
            // Every open stay's stage has its figures (`add` made the entry).
            let Some(f) = figures[o.group].iter_mut().find(|f| f.stage == o.stage) else {
                continue;
            };
            let Some(p90) = f.p90_us else { continue };
            let in_stage = micros(at - o.entered_at);
            if in_stage <= p90 {
                continue;
            }
            f.stalled += 1;
            stalled.push(Stalled {
                lead_id: o.lead_id,
                key: self.groups[o.group].0.clone(),
                stage: o.stage,
                entered_at: o.entered_at,
                in_stage_us: in_stage,
                p90_us: p90,
                owner: o.owner,
            });
        }
        stalled.sort_by(|a, b| {
            let past = |s: &Stalled| i128::from(s.in_stage_us) - i128::from(s.p90_us);
            past(b)
                .cmp(&past(a))
                .then_with(|| a.lead_id.cmp(&b.lead_id))
                .then_with(|| a.stage.number().cmp(&b.stage.number()))
        });
        stalled.truncate(self.params.stalled_limit);
        let mut groups: Vec<Group> = self
            .groups
            .into_iter()
            .zip(figures)
            .map(|((key, _), stages)| Group { key, stages })
            .collect();
        groups.sort_by(|a, b| a.key.cmp(&b.key));
        Velocity { groups, stalled }
    }
}

/// Velocity of `leads` (each lead once).
pub fn velocity(leads: impl IntoIterator<Item = LeadStays>, params: Params) -> Velocity {
    let mut acc = Accumulator::new(params);
    for lead in leads {
        acc.add(lead);
    }
    acc.finish()
}

#[cfg(test)]
mod tests;
