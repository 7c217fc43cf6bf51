//! Fixtures shared by the integration tests.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadledger_attribution::{
    credit, Conversion, ConversionKind, Model, Path, TouchKind, Touchpoint,
};
use leadledger_domain::event::{
    Company, Contact, LeadCaptured, LeadSource, SourceRef, TouchRecorded,
};
use leadledger_domain::{Event, Payload};
use uuid::Uuid;

/// Monday 3 March 2025, 09:00 UTC: day 0 of every fixture.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 9, 0, 0).unwrap()
}

pub fn day(d: i64) -> DateTime<Utc> {
    t0() + Duration::days(d)
}

pub fn hours(h: i64) -> DateTime<Utc> {
    t0() + Duration::hours(h)
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub fn touch(n: u128, at: DateTime<Utc>, channel: &str) -> Touchpoint {
    Touchpoint {
        at,
        event_id: id(n),
        lead_id: "lead-1".into(),
        channel: channel.into(),
        campaign: format!("{channel}-campaign"),
        keyword: String::new(),
        kind: TouchKind::Touch,
    }
}

pub fn capture(n: u128, at: DateTime<Utc>, channel: &str) -> Touchpoint {
    Touchpoint {
        kind: TouchKind::Capture,
        ..touch(n, at, channel)
    }
}

pub fn conversion(kind: ConversionKind, at: DateTime<Utc>, value_minor: i64) -> Conversion {
    Conversion {
        lead_id: "lead-1".into(),
        kind,
        at,
        value_minor,
        currency: if kind == ConversionKind::Revenue {
            "CNY".into()
        } else {
            String::new()
        },
    }
}

/// The credited amounts, in path order.
pub fn amounts(conv: &Conversion, path: &Path, model: &Model) -> Vec<i64> {
    credit(conv, path, model)
        .unwrap()
        .into_iter()
        .map(|c| c.amount_minor)
        .collect()
}

// ---- domain events ----

pub fn event(lead: &str, n: u128, at: DateTime<Utc>, payload: Payload) -> Event {
    Event {
        event_id: id(n),
        tenant_id: "acme".into(),
        lead_id: lead.into(),
        occurred_at: at,
        recorded_at: at,
        source: SourceRef {
            system: "test".into(),
            event_id: n.to_string(),
        },
        schema_version: 1,
        payload,
    }
}

pub fn captured(
    lead: &str,
    n: u128,
    at: DateTime<Utc>,
    channel: &str,
    domain: &str,
    email: &str,
) -> Event {
    event(
        lead,
        n,
        at,
        Payload::LeadCaptured(LeadCaptured {
            contact: Contact {
                email: email.into(),
                ..Contact::default()
            },
            company: Company {
                domain: domain.into(),
                ..Company::default()
            },
            source: LeadSource {
                channel: channel.into(),
                campaign: format!("{channel}-campaign"),
                ..LeadSource::default()
            },
            sealed: None,
        }),
    )
}

pub fn touched(lead: &str, n: u128, at: DateTime<Utc>, channel: &str) -> Event {
    event(
        lead,
        n,
        at,
        Payload::TouchRecorded(TouchRecorded {
            channel: channel.into(),
            campaign: format!("{channel}-campaign"),
            touch_type: 1,
            content_id: String::new(),
            keyword: String::new(),
        }),
    )
}

pub fn mql(lead: &str, n: u128, at: DateTime<Utc>) -> Event {
    event(
        lead,
        n,
        at,
        Payload::MqlQualified {
            score: 80,
            reason: "fit".into(),
        },
    )
}

pub fn sql(lead: &str, n: u128, at: DateTime<Utc>) -> Event {
    event(
        lead,
        n,
        at,
        Payload::SalesAccepted {
            rep_id: "rep-1".into(),
        },
    )
}

pub fn poc(lead: &str, n: u128, at: DateTime<Utc>) -> Event {
    event(
        lead,
        n,
        at,
        Payload::PocStarted {
            owner_id: "se-1".into(),
            use_case: "pilot".into(),
        },
    )
}

pub fn signed(lead: &str, n: u128, at: DateTime<Utc>, amount_minor: i64) -> Event {
    event(
        lead,
        n,
        at,
        Payload::Signed {
            amount_minor,
            currency: "CNY".into(),
            contract_id: format!("c-{n}"),
        },
    )
}
