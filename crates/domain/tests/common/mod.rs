//! Given-when-then helpers shared by the domain integration tests: terse builders for the
//! events of one lead, with deterministic ids and timestamps in 2026.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadledger_domain::event::{
    Company, Contact, Feedback, LeadCaptured, LeadSource, Owner, PocOutcome, Segment, SourceRef,
    TouchRecorded,
};
use leadledger_domain::{Event, Payload, Stage};
use uuid::Uuid;

pub const TENANT: &str = "acme";
pub const LEAD: &str = "lead-0001";

/// 2026-03-`day` `hour`:00:00 UTC.
pub fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

/// `at(day, hour)` plus `minutes`.
pub fn at_min(day: u32, hour: u32, minutes: i64) -> DateTime<Utc> {
    at(day, hour) + Duration::minutes(minutes)
}

/// A deterministic event id; ids order like their numbers.
pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// An event of the test lead with id `n`, at `when`.
pub fn ev(n: u128, when: DateTime<Utc>, payload: Payload) -> Event {
    Event {
        event_id: id(n),
        tenant_id: TENANT.into(),
        lead_id: LEAD.into(),
        occurred_at: when,
        recorded_at: when,
        source: SourceRef {
            system: "hubspot".into(),
            event_id: format!("hs-{n}"),
        },
        schema_version: leadledger_domain::event::FIRST_SCHEMA_VERSION,
        payload,
    }
}

// ----- payloads -----

pub fn captured(channel: &str) -> Payload {
    Payload::LeadCaptured(LeadCaptured {
        contact: Contact {
            email: format!("li.wei@{channel}.example.com"),
            phone: "+86 138 0000 0000".into(),
            name: "Li Wei".into(),
            title: "CIO".into(),
        },
        company: Company {
            name: "Example Retail Co.".into(),
            domain: "example.com".into(),
            region: "east".into(),
            industry: "retail".into(),
            segment: Segment::Ka,
            employees: 1200,
            account_id: String::new(),
        },
        source: LeadSource {
            channel: channel.into(),
            campaign: "spring-2026".into(),
            utm_source: "baidu".into(),
            utm_medium: "cpc".into(),
            ..LeadSource::default()
        },
        sealed: None,
    })
}

pub fn touch() -> Payload {
    Payload::TouchRecorded(TouchRecorded {
        channel: "webinar".into(),
        campaign: "retail-ai".into(),
        touch_type: 3,
        content_id: "wb-17".into(),
        keyword: String::new(),
    })
}

pub fn mql(score: u32) -> Payload {
    Payload::MqlQualified {
        score,
        reason: "downloaded the pricing sheet".into(),
    }
}

pub fn owner(team: &str, rep: &str) -> Owner {
    Owner {
        team: team.into(),
        queue: "east-ka".into(),
        rep_id: rep.into(),
        partner_id: String::new(),
    }
}

pub fn handed_off(team: &str, rep: &str) -> Payload {
    Payload::HandedOff(owner(team, rep))
}

pub fn accepted(rep: &str) -> Payload {
    Payload::SalesAccepted { rep_id: rep.into() }
}

pub fn rejected() -> Payload {
    Payload::SalesRejected {
        reason: 2,
        text: "no budget this year".into(),
        rep_id: "rep-7".into(),
    }
}

pub fn follow_up(note: &str) -> Payload {
    Payload::FollowUpLogged {
        activity_type: 1,
        rep_id: "rep-7".into(),
        note: note.into(),
    }
}

pub fn feedback(stage: Stage) -> Payload {
    Payload::FeedbackRecorded(Feedback {
        stage: Some(stage),
        rep_id: "rep-7".into(),
        business_situation: "expanding to 40 stores".into(),
        trigger: "new CIO".into(),
        timeline: "Q3".into(),
        risks: "legacy ERP".into(),
        competitors: "vendor-x".into(),
        progress: "demo done".into(),
        commercial: "budget approved".into(),
    })
}

pub fn poc_started() -> Payload {
    Payload::PocStarted {
        owner_id: "se-3".into(),
        use_case: "store traffic forecasting".into(),
    }
}

pub fn poc_completed(outcome: PocOutcome) -> Payload {
    Payload::PocCompleted {
        outcome: Some(outcome),
        notes: "forecast error under 8 %".into(),
    }
}

pub fn signed(amount_minor: i64, currency: &str) -> Payload {
    Payload::Signed {
        amount_minor,
        currency: currency.into(),
        contract_id: "C-2026-0042".into(),
    }
}

pub fn payment(amount_minor: i64, currency: &str) -> Payload {
    Payload::PaymentCollected {
        amount_minor,
        currency: currency.into(),
        payment_id: "RC-0042-1".into(),
        contract_id: "C-2026-0042".into(),
    }
}

pub fn lost() -> Payload {
    Payload::Lost {
        reason: "chose a competitor".into(),
        competitor: "vendor-x".into(),
        code: 2,
        rep_id: String::new(),
    }
}

pub fn recycled() -> Payload {
    Payload::Recycled {
        reason: "no response for 14 days".into(),
        code: 0,
        rep_id: String::new(),
    }
}

pub fn disqualified() -> Payload {
    Payload::Disqualified {
        reason: "student, not a buyer".into(),
        code: 2,
        rep_id: "mkt-1".into(),
    }
}

pub fn unknown(event_type: &str) -> Payload {
    Payload::Unknown {
        event_type: event_type.into(),
    }
}

/// One valid payload of every known kind.
pub fn every_valid_payload() -> Vec<Payload> {
    vec![
        captured("website"),
        touch(),
        mql(80),
        handed_off("east-ka", "rep-7"),
        accepted("rep-7"),
        rejected(),
        follow_up("called, meeting next week"),
        feedback(Stage::Sql),
        poc_started(),
        poc_completed(PocOutcome::Success),
        signed(12_000_000, "CNY"),
        payment(3_600_000, "CNY"),
        lost(),
        recycled(),
        disqualified(),
    ]
}
