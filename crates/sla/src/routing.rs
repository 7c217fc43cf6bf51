//! Lead routing on MQL: which team, queue or partner gets a lead, and which rep within a team.
//!
//! Practitioners route by region, industry, company size (KA/SMB) and channel, and give more
//! good leads to reps who follow up faster, write more complete feedback and convert more
//! (`docs/DOMAIN.md`, §Routing).
//! Both steps here are pure and deterministic, so replaying the log assigns every lead
//! exactly as the first time, and every [`Assignment`] says why (rule, eligible reps and their
//! weights, skipped reps) for a fairness audit.
//!
//! # Rules
//! - **Rules** are tried in order; the first whose [`Match`] fits the lead wins, else the
//!   default target. In a `Match` every non-empty list must contain the lead's value (compared
//!   trimmed and ASCII-case-insensitively); empty lists match anything.
//! - **Rotation** (team targets only): reps of the team who are available and below their cap
//!   are eligible; each gets the weight of [`rep_weight`]; the chosen rep is the one whose
//!   slice of `[0, total)` — reps in `rep_id` order, weights in integer millionths — contains
//!   a point derived from the seed (the MQL event id) by a fixed 64-bit mix. Over many leads
//!   each eligible rep's share tends to its weight's share. Same inputs, same rep: input order
//!   of reps does not matter.
//! - **No eligible rep**: the lead stays in the team's queue (`rep_id = None`).
//! - Queue and partner targets get no rep (the queue's members pick, the partner routes
//!   internally).
//!
//! Caps count open leads the caller folded from the log up to the triggering event, so the
//! caller must build [`RepRecord`]s in log order for replays to agree.
//!
//! # Layout
//! - [`LeadFacts`], [`Match`], [`Target`], [`Rule`], [`RoutingRules`]: rule matching.
//! - [`RepRecord`], [`rep_weight`]: rep weights.
//! - [`assign`] → [`Assignment`].

use std::collections::HashSet;

use leadledger_domain::event::{Owner, Segment};
use leadledger_domain::LeadState;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::names::{any_or_listed, same_name};

/// What routing looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadFacts {
    pub region: String,
    pub industry: String,
    pub segment: Segment,
    pub channel: String,
}

impl LeadFacts {
    /// From the folded lead (its first capture's company and source).
    pub fn from_state(st: &LeadState) -> LeadFacts {
        LeadFacts {
            region: st.company.region.clone(),
            industry: st.company.industry.clone(),
            segment: st.company.segment,
            channel: st.source.channel.clone(),
        }
    }
}

/// Conditions of a rule; empty lists match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    pub regions: Vec<String>,
    pub industries: Vec<String>,
    pub segments: Vec<Segment>,
    pub channels: Vec<String>,
}

impl Match {
    pub fn matches(&self, lead: &LeadFacts) -> bool {
        any_or_listed(&self.regions, &lead.region)
            && any_or_listed(&self.industries, &lead.industry)
            && (self.segments.is_empty() || self.segments.contains(&lead.segment))
            && any_or_listed(&self.channels, &lead.channel)
    }
}

/// Where a rule sends a lead.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    Team { team: String },
    Queue { queue: String },
    Partner { partner_id: String },
}

impl Target {
    /// The owner to record in a `HandedOff` fact (without a rep).
    pub fn owner(&self) -> Owner {
        let mut o = Owner::default();
        match self {
            Target::Team { team } => o.team.clone_from(team),
            Target::Queue { queue } => o.queue.clone_from(queue),
            Target::Partner { partner_id } => o.partner_id.clone_from(partner_id),
        }
        o
    }

    fn describe(&self) -> String {
        match self {
            Target::Team { team } => format!("team `{team}`"),
            Target::Queue { queue } => format!("queue `{queue}`"),
            Target::Partner { partner_id } => format!("partner `{partner_id}`"),
        }
    }

    fn name(&self) -> &str {
        match self {
            Target::Team { team } => team,
            Target::Queue { queue } => queue,
            Target::Partner { partner_id } => partner_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub when: Match,
    pub to: Target,
}

/// Ordered rules and the default target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRules {
    pub rules: Vec<Rule>,
    pub default: Target,
}

/// A rule set that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("routing rule `{rule}`: {message}")]
pub struct RoutingError {
    pub rule: String,
    pub message: String,
}

impl RoutingRules {
    /// The first matching rule (None: the default) and its target.
    pub fn route(&self, lead: &LeadFacts) -> (Option<&Rule>, &Target) {
        match self.rules.iter().find(|r| r.when.matches(lead)) {
            Some(r) => (Some(r), &r.to),
            None => (None, &self.default),
        }
    }

    /// Rule ids must be unique and non-empty, and targets must name something.
    pub fn validate(&self) -> Result<(), RoutingError> {
        let mut seen = HashSet::new();
        for r in &self.rules {
            let err = |m: &str| RoutingError {
                rule: r.id.clone(),
                message: m.into(),
            };
            if r.id.trim().is_empty() {
                return Err(err("id is empty"));
            }
            if !seen.insert(r.id.as_str()) {
                return Err(err("id is used by another rule"));
            }
            if r.to.name().trim().is_empty() {
                return Err(err("target names no team, queue or partner"));
            }
        }
        if self.default.name().trim().is_empty() {
            return Err(RoutingError {
                rule: "default".into(),
                message: "target names no team, queue or partner".into(),
            });
        }
        Ok(())
    }
}

/// A rep on the roster of the policy file: team, cap and availability. The rest of a rep's
/// [`RepRecord`] (speed, feedback, conversion, open leads) is read from the read models when
/// a lead is routed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepConfig {
    pub rep_id: String,
    pub team: String,
    /// Most open leads; `None`: no cap.
    pub cap: Option<u32>,
    /// False while out of office.
    pub available: bool,
    /// Whom an escalation step's `manager` tells ("": nobody configured).
    #[serde(default)]
    pub manager: String,
}

/// A team on the roster: whom an escalation step's `team_lead` tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamConfig {
    pub id: String,
    pub lead: String,
}

/// The routing section of the policy file: rules, the rep roster and the teams' leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingSetup {
    pub rules: RoutingRules,
    pub reps: Vec<RepConfig>,
    #[serde(default)]
    pub teams: Vec<TeamConfig>,
}

/// A rep's record as the rotation sees it (folded by the caller from the log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepRecord {
    pub rep_id: String,
    pub team: String,
    /// Median hours from assignment to first follow-up. No history yet: pass 24 (the SLA).
    pub follow_up_median_hours: f64,
    /// Mean feedback completeness in `[0, 1]` ([`crate::feedback::rep_completeness`]).
    /// No history yet: pass 0.5.
    pub feedback_completeness: f64,
    /// Share of the rep's leads that converted, in `[0, 1]`.
    pub conversion_rate: f64,
    pub open_leads: u32,
    /// Most open leads; `None`: no cap.
    pub cap: Option<u32>,
    /// False when out of office.
    pub available: bool,
}

/// Smallest weight: even a rep with the worst record keeps getting a few leads, so the record
/// can improve (and no one is starved by a missing value).
pub const MIN_WEIGHT: f64 = 0.05;

/// A rep's rotation weight:
///
/// `max(0.05, speed × completeness × (0.5 + conversion))` with
/// `speed = 24 / (24 + follow_up_median_hours)` (1 for instant follow-up, ½ at 24 h, ⅓ at
/// 48 h), completeness and conversion clamped to `[0, 1]`. So weights lie in `[0.05, 1.5]`;
/// conversion can at most triple a rep's share, speed and completeness scale it linearly.
/// Values that are not finite count as neutral: 24 h, completeness ½, conversion 0.
pub fn rep_weight(r: &RepRecord) -> f64 {
    let hours = finite_or(r.follow_up_median_hours, 24.0).max(0.0);
    let speed = 24.0 / (24.0 + hours);
    let completeness = finite_or(r.feedback_completeness, 0.5).clamp(0.0, 1.0);
    let conversion = finite_or(r.conversion_rate, 0.0).clamp(0.0, 1.0);
    (speed * completeness * (0.5 + conversion)).max(MIN_WEIGHT)
}

fn finite_or(x: f64, neutral: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        neutral
    }
}

/// Why a team member was not eligible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SkipReason {
    Unavailable,
    AtCap { open_leads: u32, cap: u32 },
}

/// The outcome of routing one lead, with its justification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub target: Target,
    pub rep_id: Option<String>,
    /// The matching rule; `None` when the default target was used.
    pub rule_id: Option<String>,
    /// Eligible reps and their weights, in `rep_id` order.
    pub weights: Vec<(String, f64)>,
    /// Team members not eligible, in `rep_id` order.
    pub skipped: Vec<(String, SkipReason)>,
    /// Human-readable summary.
    pub reason: String,
}

impl Assignment {
    /// The owner to record in the `HandedOff` fact.
    pub fn owner(&self) -> Owner {
        let mut o = self.target.owner();
        if let Some(r) = &self.rep_id {
            o.rep_id.clone_from(r);
        }
        o
    }
}

/// Routes a lead. `seed` is the id of the triggering event (the MQL), which makes the rotation
/// reproducible on replay.
pub fn assign(
    lead: &LeadFacts,
    rules: &RoutingRules,
    reps: &[RepRecord],
    seed: Uuid,
) -> Assignment {
    let (rule, target) = rules.route(lead);
    let rule_id = rule.map(|r| r.id.clone());
    let via = match &rule_id {
        Some(id) => format!("rule `{id}` matched"),
        None => "no rule matched, default".to_string(),
    };
    let mut a = Assignment {
        target: target.clone(),
        rep_id: None,
        rule_id,
        weights: Vec::new(),
        skipped: Vec::new(),
        reason: format!("{via} → {}", target.describe()),
    };
    let Target::Team { team } = target else {
        return a;
    };
    let mut members: Vec<&RepRecord> = reps.iter().filter(|r| same_name(&r.team, team)).collect();
    members.sort_by(|x, y| x.rep_id.cmp(&y.rep_id));
    members.dedup_by(|x, y| x.rep_id == y.rep_id);
    for r in members {
        match r.cap {
            _ if !r.available => a.skipped.push((r.rep_id.clone(), SkipReason::Unavailable)),
            Some(cap) if r.open_leads >= cap => a.skipped.push((
                r.rep_id.clone(),
                SkipReason::AtCap {
                    open_leads: r.open_leads,
                    cap,
                },
            )),
            _ => a.weights.push((r.rep_id.clone(), rep_weight(r))),
        }
    }
    if a.weights.is_empty() {
        a.reason.push_str(&format!(
            "; no eligible rep ({} skipped): left in the team queue",
            a.skipped.len()
        ));
        return a;
    }
    // Integer units so the choice never depends on floating-point summation order.
    let units: Vec<u64> = a
        .weights
        .iter()
        .map(|(_, w)| (w * 1e6).round() as u64)
        .collect();
    let total: u64 = units.iter().sum();
    let point = ((u128::from(mix(seed)) * u128::from(total)) >> 64) as u64;
    let mut acc = 0;
    let chosen = units
        .iter()
        .position(|u| {
            acc += u;
            point < acc
        })
        .expect("point < total");
    let rep = a.weights[chosen].0.clone();
    a.reason.push_str(&format!(
        "; weighted rotation over {} eligible reps ({} skipped), point {point} of {total} → rep `{rep}`",
        a.weights.len(),
        a.skipped.len()
    ));
    a.rep_id = Some(rep);
    a
}

/// A fixed 64-bit mix of the seed (SplitMix64 finaliser over both halves), so time-ordered
/// UUIDv7 ids spread as well as hash-based UUIDv5 ones. Never change it: replays depend on it.
fn mix(seed: Uuid) -> u64 {
    fn fin(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let v = seed.as_u128();
    fin(fin(v as u64) ^ (v >> 64) as u64)
}
