//! Terse builders for wire events in tests.

use chrono::{DateTime, TimeZone, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::{self, event::Payload};

/// 2026-`month`-`day` `hour`:00 UTC.
pub fn at(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, 0, 0).unwrap()
}

/// An event of `lead` from `system` with source id `src`.
pub fn event(
    lead: &str,
    system: &str,
    src: &str,
    when: DateTime<Utc>,
    payload: Payload,
) -> pb::Event {
    pb::Event {
        lead_id: lead.to_string(),
        occurred_at: Some(time_to_proto(when)),
        source: Some(pb::SourceRef {
            system: system.to_string(),
            event_id: src.to_string(),
        }),
        payload: Some(payload),
        ..Default::default()
    }
}

/// A capture from `channel`.
pub fn captured(lead: &str, src: &str, when: DateTime<Utc>, channel: &str) -> pb::Event {
    event(
        lead,
        "marketo",
        src,
        when,
        Payload::LeadCaptured(pb::LeadCaptured {
            contact: Some(pb::Contact {
                // One company per lead: fixtures with thousands of leads must not form one
                // giant account (account-level credits are what accounts cost).
                email: format!("li.wei@{}.example.com", lead.to_lowercase()),
                name: "Li Wei".into(),
                ..Default::default()
            }),
            company: Some(pb::Company {
                name: "Example Co".into(),
                domain: format!("{}.example.com", lead.to_lowercase()),
                region: "华东".into(),
                industry: "finance".into(),
                segment: pb::Segment::Ka as i32,
                employees: 800,
                ..Default::default()
            }),
            source: Some(pb::LeadSource {
                channel: channel.into(),
                campaign: "2026q2-launch".into(),
                utm_source: "google".into(),
                ..Default::default()
            }),
            sealed_contact: None,
        }),
    )
}

pub fn mql(lead: &str, src: &str, when: DateTime<Utc>) -> pb::Event {
    event(
        lead,
        "marketo",
        src,
        when,
        Payload::MqlQualified(pb::MqlQualified {
            score: 80,
            reason: "visited pricing twice".into(),
        }),
    )
}

pub fn accepted(lead: &str, src: &str, when: DateTime<Utc>, rep: &str) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        when,
        Payload::SalesAccepted(pb::SalesAccepted { rep_id: rep.into() }),
    )
}

pub fn signed(lead: &str, src: &str, when: DateTime<Utc>, amount_minor: i64) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        when,
        Payload::Signed(pb::Signed {
            amount_minor,
            currency: "CNY".into(),
            contract_id: format!("C-{lead}"),
        }),
    )
}

/// A paid-ad touch on `channel` (campaign `<channel>-q2`).
pub fn touch(lead: &str, src: &str, when: DateTime<Utc>, channel: &str) -> pb::Event {
    event(
        lead,
        "marketo",
        src,
        when,
        Payload::TouchRecorded(pb::TouchRecorded {
            channel: channel.into(),
            campaign: format!("{channel}-q2"),
            touch_type: pb::TouchType::AdClick as i32,
            ..Default::default()
        }),
    )
}

/// A touch from `channel` on the anonymous visitor `visitor` (no lead id).
pub fn visitor_touch(visitor: &str, src: &str, when: DateTime<Utc>, channel: &str) -> pb::Event {
    pb::Event {
        visitor_id: visitor.to_string(),
        ..touch("", src, when, channel)
    }
}

/// The anonymous visitor `visitor` is the lead `lead`.
pub fn linked(visitor: &str, lead: &str, src: &str, when: DateTime<Utc>) -> pb::Event {
    pb::Event {
        visitor_id: visitor.to_string(),
        ..event(
            "",
            "marketo",
            src,
            when,
            Payload::IdentityLinked(pb::IdentityLinked {
                lead_id: lead.to_string(),
            }),
        )
    }
}

/// The contact of `lead` takes `role` on its account's buying committee.
pub fn role(
    lead: &str,
    src: &str,
    when: DateTime<Utc>,
    role: pb::ContactRole,
    primary: bool,
) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        when,
        Payload::ContactRoleAssigned(pb::ContactRoleAssigned {
            role: role as i32,
            primary,
            rep_id: "rep-07".into(),
        }),
    )
}

/// `lead`'s contact was referred by `referrer`'s.
pub fn referred(lead: &str, src: &str, when: DateTime<Utc>, referrer: &str) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        when,
        Payload::ReferredBy(pb::ReferredBy {
            referrer_lead_id: referrer.into(),
            rep_id: "rep-07".into(),
        }),
    )
}
