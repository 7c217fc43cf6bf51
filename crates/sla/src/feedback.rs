//! Stage feedback completeness: how much of what sales should record after a contact they did.
//!
//! After each contact sales records business situation, project trigger, timeline, risks,
//! competitors, progress and commercial status. Complete feedback grades lead quality and lets
//! a successor rep pick the lead up (`docs/DOMAIN.md`, §Stage feedback), and it feeds the
//! routing weights ([`crate::routing`]).
//!
//! # Rules
//! - Requirements are per stage ([`FeedbackRequirements`]); by default MQL needs business
//!   situation, trigger and timeline, SQL and POC need all seven fields, other stages nothing.
//! - A lead owes the requirements of every stage it has entered (a fresh MQL owes nothing for
//!   SQL yet).
//! - A `FeedbackRecorded` counts for the stage it names, or, when it names none, for the stage
//!   the lead was in when it occurred. Feedback for a stage the lead never entered is ignored.
//! - Within a stage the latest value of each field wins, and an empty (blank) field in a later
//!   record means "not given", not "cleared" (proto3 semantics): a rep who only updates
//!   `progress` keeps the situation recorded earlier. So a field is filled when any record for
//!   that stage gave it a non-blank value.
//! - Lead score = filled / required over all owed (stage, field) pairs; no score when nothing
//!   is owed. Rep score = mean of the scores of the leads the rep owns (the last rep named by a
//!   hand-off or an acceptance, in business order; a recycle does not erase it, so the rep who
//!   let a lead go still answers for its feedback).
//!
//! # Layout
//! - [`FeedbackField`], [`FeedbackRequirements`]: what is required.
//! - [`lead_feedback`] → [`LeadFeedback`]; [`rep_completeness`] → [`RepCompleteness`].

use std::collections::{BTreeMap, BTreeSet};

use leadledger_domain::event::Feedback;
use leadledger_domain::{Event, Payload, Stage};
use serde::{Deserialize, Serialize};

use crate::kind::business_order;

/// One of the seven feedback fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackField {
    BusinessSituation,
    Trigger,
    Timeline,
    Risks,
    Competitors,
    Progress,
    Commercial,
}

impl FeedbackField {
    pub const ALL: [FeedbackField; 7] = [
        FeedbackField::BusinessSituation,
        FeedbackField::Trigger,
        FeedbackField::Timeline,
        FeedbackField::Risks,
        FeedbackField::Competitors,
        FeedbackField::Progress,
        FeedbackField::Commercial,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackField::BusinessSituation => "business_situation",
            FeedbackField::Trigger => "trigger",
            FeedbackField::Timeline => "timeline",
            FeedbackField::Risks => "risks",
            FeedbackField::Competitors => "competitors",
            FeedbackField::Progress => "progress",
            FeedbackField::Commercial => "commercial",
        }
    }

    pub fn parse(s: &str) -> Option<FeedbackField> {
        FeedbackField::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The field's value in a feedback record.
    pub fn value(self, f: &Feedback) -> &str {
        match self {
            FeedbackField::BusinessSituation => &f.business_situation,
            FeedbackField::Trigger => &f.trigger,
            FeedbackField::Timeline => &f.timeline,
            FeedbackField::Risks => &f.risks,
            FeedbackField::Competitors => &f.competitors,
            FeedbackField::Progress => &f.progress,
            FeedbackField::Commercial => &f.commercial,
        }
    }
}

/// Required fields per stage. Stages not listed require nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRequirements {
    per_stage: BTreeMap<Stage, BTreeSet<FeedbackField>>,
}

impl Default for FeedbackRequirements {
    /// MQL: business situation, trigger, timeline. SQL and POC: all seven.
    fn default() -> Self {
        use FeedbackField::*;
        FeedbackRequirements::none()
            .with(Stage::Mql, [BusinessSituation, Trigger, Timeline])
            .with(Stage::Sql, FeedbackField::ALL)
            .with(Stage::Poc, FeedbackField::ALL)
    }
}

impl FeedbackRequirements {
    /// Nothing required anywhere.
    pub fn none() -> Self {
        FeedbackRequirements {
            per_stage: BTreeMap::new(),
        }
    }

    /// Sets (replaces) the requirement of one stage.
    pub fn with(mut self, stage: Stage, fields: impl IntoIterator<Item = FeedbackField>) -> Self {
        let set: BTreeSet<_> = fields.into_iter().collect();
        if set.is_empty() {
            self.per_stage.remove(&stage);
        } else {
            self.per_stage.insert(stage, set);
        }
        self
    }

    pub fn required(&self, stage: Stage) -> impl Iterator<Item = FeedbackField> + '_ {
        self.per_stage.get(&stage).into_iter().flatten().copied()
    }
}

/// One lead's feedback completeness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadFeedback {
    pub lead_id: String,
    /// The rep who answers for it (see the module rules); `None` if no rep was ever named.
    pub rep_id: Option<String>,
    /// Owed `(stage, field)` pairs.
    pub required: u32,
    pub filled: u32,
    /// Owed pairs not filled, in stage then field order (what a successor rep would miss).
    pub missing: Vec<(Stage, FeedbackField)>,
}

impl LeadFeedback {
    /// `filled / required`, or `None` when nothing is owed.
    pub fn score(&self) -> Option<f64> {
        (self.required > 0).then(|| f64::from(self.filled) / f64::from(self.required))
    }
}

/// Computes a lead's completeness from its events (any order, duplicates allowed).
pub fn lead_feedback(events: &[Event], req: &FeedbackRequirements) -> LeadFeedback {
    let mut stage: Option<Stage> = None;
    let mut entered = BTreeSet::new();
    let mut filled: BTreeMap<Stage, BTreeSet<FeedbackField>> = BTreeMap::new();
    let mut rep_id: Option<String> = None;
    let mut lead_id = String::new();
    for e in business_order(events) {
        lead_id.clone_from(&e.lead_id);
        match &e.payload {
            Payload::HandedOff(o) if !o.rep_id.is_empty() => rep_id = Some(o.rep_id.clone()),
            Payload::SalesAccepted { rep_id: r } if !r.is_empty() => rep_id = Some(r.clone()),
            Payload::FeedbackRecorded(f) => {
                if let Some(s) = f.stage.or(stage) {
                    let given = FeedbackField::ALL
                        .into_iter()
                        .filter(|field| !field.value(f).trim().is_empty());
                    filled.entry(s).or_default().extend(given);
                }
            }
            _ => {}
        }
        // The stage as the lifecycle fold tracks it: a repeat capture is not a move.
        if let Some(to) = e.payload.target_stage() {
            if !(to == Stage::Captured && stage.is_some()) {
                stage = Some(to);
                entered.insert(to);
            }
        }
    }
    let mut out = LeadFeedback {
        lead_id,
        rep_id,
        required: 0,
        filled: 0,
        missing: Vec::new(),
    };
    for s in entered {
        for field in req.required(s) {
            out.required += 1;
            if filled.get(&s).is_some_and(|f| f.contains(&field)) {
                out.filled += 1;
            } else {
                out.missing.push((s, field));
            }
        }
    }
    out
}

/// A rep's feedback completeness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepCompleteness {
    /// Leads with a score (something owed) that count for the rep.
    pub leads: u32,
    /// Mean of their scores, in `[0, 1]`.
    pub mean: f64,
}

/// Per-rep means over leads with a rep and a score; leads owing nothing do not count.
pub fn rep_completeness(leads: &[LeadFeedback]) -> BTreeMap<String, RepCompleteness> {
    let mut scores: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for l in leads {
        if let (Some(rep), Some(score)) = (&l.rep_id, l.score()) {
            scores.entry(rep.clone()).or_default().push(score);
        }
    }
    scores
        .into_iter()
        .map(|(rep, mut s)| {
            // Summed in sorted order so the mean does not depend on the order of `leads`.
            s.sort_by(f64::total_cmp);
            let n = s.len() as u32;
            let mean = s.iter().sum::<f64>() / f64::from(n);
            (rep, RepCompleteness { leads: n, mean })
        })
        .collect()
}
