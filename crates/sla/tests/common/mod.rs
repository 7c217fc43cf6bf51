//! Event builders shared by the integration tests.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use leadledger_domain::event::{Company, LeadCaptured, LeadSource, Owner, Segment, SourceRef};
use leadledger_domain::{Event, Payload, SCHEMA_VERSION};
use uuid::Uuid;

/// A Shanghai wall-clock instant.
pub fn sh(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Shanghai
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// An event on lead `L1`, recorded when it occurred.
pub fn ev(n: u128, at: DateTime<Utc>, payload: Payload) -> Event {
    Event {
        event_id: Uuid::from_u128(n),
        tenant_id: "acme".into(),
        lead_id: "L1".into(),
        occurred_at: at,
        recorded_at: at,
        source: SourceRef::default(),
        schema_version: SCHEMA_VERSION,
        payload,
    }
}

/// The same, recorded (ingested) at `recorded`.
pub fn ev_late(n: u128, at: DateTime<Utc>, recorded: DateTime<Utc>, payload: Payload) -> Event {
    Event {
        recorded_at: recorded,
        ..ev(n, at, payload)
    }
}

pub fn captured(segment: Segment, region: &str, channel: &str) -> Payload {
    Payload::LeadCaptured(LeadCaptured {
        company: Company {
            name: "Acme".into(),
            region: region.into(),
            industry: "retail".into(),
            segment,
            ..Company::default()
        },
        source: LeadSource {
            channel: channel.into(),
            ..LeadSource::default()
        },
        ..LeadCaptured::default()
    })
}

pub fn mql() -> Payload {
    Payload::MqlQualified {
        score: 80,
        reason: "fit".into(),
    }
}

pub fn handed_to_team(team: &str, rep: &str) -> Payload {
    Payload::HandedOff(Owner {
        team: team.into(),
        rep_id: rep.into(),
        ..Owner::default()
    })
}

pub fn handed_to_partner(partner: &str) -> Payload {
    Payload::HandedOff(Owner {
        partner_id: partner.into(),
        ..Owner::default()
    })
}

pub fn accepted(rep: &str) -> Payload {
    Payload::SalesAccepted { rep_id: rep.into() }
}

pub fn rejected() -> Payload {
    Payload::SalesRejected {
        reason: 1,
        text: "no budget".into(),
        rep_id: "r1".into(),
    }
}

pub fn follow_up() -> Payload {
    Payload::FollowUpLogged {
        activity_type: 1,
        rep_id: "r1".into(),
        note: "called".into(),
    }
}

pub fn poc_started() -> Payload {
    Payload::PocStarted {
        owner_id: "se1".into(),
        use_case: "pilot".into(),
    }
}

pub fn poc_completed() -> Payload {
    Payload::PocCompleted {
        outcome: Some(leadledger_domain::event::PocOutcome::Success),
        notes: String::new(),
    }
}

pub fn signed() -> Payload {
    Payload::Signed {
        amount_minor: 100_000,
        currency: "CNY".into(),
        contract_id: "C1".into(),
    }
}

pub fn recycled() -> Payload {
    Payload::Recycled {
        reason: "no answer".into(),
        code: 0,
        rep_id: String::new(),
    }
}

pub fn disqualified() -> Payload {
    Payload::Disqualified {
        reason: "student".into(),
        code: 0,
        rep_id: String::new(),
    }
}
