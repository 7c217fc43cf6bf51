//! Feedback completeness per lead and per rep.

mod common;

use common::*;
use leadledger_domain::event::{Feedback, Segment};
use leadledger_domain::{Event, Payload, Stage};
use leadledger_sla::feedback::{lead_feedback, rep_completeness, FeedbackField};
use leadledger_sla::FeedbackRequirements;

fn fb(stage: Option<Stage>, fill: &[FeedbackField]) -> Payload {
    let mut f = Feedback {
        stage,
        rep_id: "r1".into(),
        ..Feedback::default()
    };
    for field in fill {
        let v = "something".to_string();
        match field {
            FeedbackField::BusinessSituation => f.business_situation = v,
            FeedbackField::Trigger => f.trigger = v,
            FeedbackField::Timeline => f.timeline = v,
            FeedbackField::Risks => f.risks = v,
            FeedbackField::Competitors => f.competitors = v,
            FeedbackField::Progress => f.progress = v,
            FeedbackField::Commercial => f.commercial = v,
        }
    }
    Payload::FeedbackRecorded(f)
}

fn lead_to_sql() -> Vec<Event> {
    vec![
        ev(
            1,
            sh(2025, 6, 9, 9, 0),
            captured(Segment::Ka, "华东", "webinar"),
        ),
        ev(2, sh(2025, 6, 9, 10, 0), mql()),
        ev(3, sh(2025, 6, 9, 11, 0), handed_to_team("east", "r1")),
        ev(4, sh(2025, 6, 10, 11, 0), accepted("r1")),
    ]
}

use FeedbackField::*;

#[test]
fn a_lead_owes_only_the_stages_it_entered() {
    let events = &lead_to_sql()[..3];
    let l = lead_feedback(events, &FeedbackRequirements::default());
    assert_eq!((l.required, l.filled), (3, 0), "MQL: three fields");
    assert_eq!(l.score(), Some(0.0));
    assert_eq!(l.rep_id.as_deref(), Some("r1"));
    assert_eq!(l.lead_id, "L1");
    let none = lead_feedback(&lead_to_sql()[..1], &FeedbackRequirements::default());
    assert_eq!(none.score(), None, "captured owes nothing");
}

#[test]
fn the_latest_non_blank_value_per_field_and_stage_counts() {
    let mut events = lead_to_sql();
    events.extend([
        // MQL feedback, named explicitly.
        ev(
            5,
            sh(2025, 6, 9, 12, 0),
            fb(Some(Stage::Mql), &[BusinessSituation, Trigger]),
        ),
        // Stage taken from the lead (SQL at that time); a partial update adds progress.
        ev(
            6,
            sh(2025, 6, 11, 12, 0),
            fb(None, &[BusinessSituation, Timeline]),
        ),
        ev(7, sh(2025, 6, 12, 12, 0), fb(None, &[Progress])),
        // POC feedback on a lead never in POC: ignored.
        ev(
            8,
            sh(2025, 6, 12, 13, 0),
            fb(Some(Stage::Poc), &FeedbackField::ALL),
        ),
    ]);
    let l = lead_feedback(&events, &FeedbackRequirements::default());
    // MQL: 2 of 3; SQL: 3 of 7.
    assert_eq!((l.required, l.filled), (10, 5));
    assert_eq!(l.score(), Some(0.5));
    assert_eq!(l.missing[0], (Stage::Mql, Timeline));
    assert!(l.missing.contains(&(Stage::Sql, Commercial)));
    assert!(!l.missing.contains(&(Stage::Sql, Progress)));
}

#[test]
fn blank_is_not_filled_and_requirements_are_configurable() {
    let mut events = lead_to_sql();
    let mut blank = Feedback {
        stage: Some(Stage::Mql),
        business_situation: "   ".into(),
        ..Feedback::default()
    };
    blank.trigger = "expansion".into();
    events.push(ev(
        5,
        sh(2025, 6, 9, 12, 0),
        Payload::FeedbackRecorded(blank),
    ));
    let req = FeedbackRequirements::none().with(Stage::Mql, [BusinessSituation, Trigger]);
    let l = lead_feedback(&events, &req);
    assert_eq!((l.required, l.filled), (2, 1));
}

#[test]
fn rep_scores_are_the_mean_over_their_leads() {
    let req = FeedbackRequirements::default();
    let mut full = lead_to_sql();
    full.push(ev(
        5,
        sh(2025, 6, 11, 12, 0),
        fb(Some(Stage::Mql), &FeedbackField::ALL),
    ));
    full.push(ev(
        6,
        sh(2025, 6, 11, 12, 0),
        fb(Some(Stage::Sql), &FeedbackField::ALL),
    ));
    let empty = lead_to_sql();
    let mut other = lead_to_sql();
    other.push(ev(9, sh(2025, 6, 12, 9, 0), accepted("r2")));
    let leads: Vec<_> = [&full, &empty, &other, &lead_to_sql()[..1].to_vec()]
        .iter()
        .map(|e| lead_feedback(e, &req))
        .collect();
    let reps = rep_completeness(&leads);
    assert_eq!(reps["r1"].leads, 2);
    assert_eq!(reps["r1"].mean, 0.5);
    assert_eq!(reps["r2"].leads, 1);
    assert_eq!(reps["r2"].mean, 0.0);
    // Order of leads does not matter.
    let mut rev = leads.clone();
    rev.reverse();
    assert_eq!(rep_completeness(&rev), reps);
}
