//! The seed corpus: real events, encoded the way the service encodes them.
//!
//! Each target calls [`write_if_asked`] at start-up; with `LEADLEDGER_FUZZ_SEEDS=<dir>` set
//! it writes its seeds there and exits (`scripts/fuzz.sh --seeds` does this for every
//! target), so the seeds come from the same build and code as the run.

use std::path::Path;

use leadledger_api::pb;
use leadledger_api::pb::event::Payload as P;
use leadledger_domain::Violations;
use prost::Message as _;

use crate::now;

/// The environment variable naming the directory to write seeds to.
pub const ENV: &str = "LEADLEDGER_FUZZ_SEEDS";

fn ts(seconds_before_now: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: crate::NOW_SECONDS - seconds_before_now,
        nanos: 250_000_000,
    })
}

/// One client event of each payload type, as an `Append` request carries them.
pub fn client_events() -> Vec<pb::Event> {
    let payloads = vec![
        P::LeadCaptured(pb::LeadCaptured {
            sealed_contact: None,
            contact: Some(pb::Contact {
                email: "li.wei@example.com.cn".into(),
                phone: "+86 138 0013 8000".into(),
                name: "李伟".into(),
                title: "CTO".into(),
            }),
            company: Some(pb::Company {
                name: "Example Tech".into(),
                domain: "example.com.cn".into(),
                region: "east".into(),
                industry: "manufacturing".into(),
                segment: pb::Segment::Ka as i32,
                employees: 1200,
                account_id: "crm-0042".into(),
            }),
            source: Some(pb::LeadSource {
                channel: "paid_search".into(),
                campaign: "q1-brand".into(),
                utm_source: "baidu".into(),
                landing_page: "https://example.com/landing".into(),
                ..Default::default()
            }),
        }),
        P::TouchRecorded(pb::TouchRecorded {
            channel: "webinar".into(),
            campaign: "q1-webinar".into(),
            touch_type: pb::TouchType::Webinar as i32,
            content_id: "wb-12".into(),
            keyword: String::new(),
        }),
        P::MqlQualified(pb::MqlQualified {
            score: 72,
            reason: "visited pricing twice".into(),
        }),
        P::HandedOff(pb::HandedOff {
            team: "east-sales".into(),
            rep_id: "rep-7".into(),
            ..Default::default()
        }),
        P::SalesAccepted(pb::SalesAccepted {
            rep_id: "rep-7".into(),
        }),
        P::SalesRejected(pb::SalesRejected {
            reason: pb::RejectReason::NoBudget as i32,
            text: "next fiscal year".into(),
            rep_id: "rep-7".into(),
        }),
        P::FollowUpLogged(pb::FollowUpLogged {
            activity_type: pb::ActivityType::Call as i32,
            rep_id: "rep-7".into(),
            note: "call back on Monday".into(),
        }),
        P::FeedbackRecorded(pb::FeedbackRecorded {
            stage: 3,
            rep_id: "rep-7".into(),
            business_situation: "expanding to two plants".into(),
            timeline: "Q3".into(),
            ..Default::default()
        }),
        P::PocStarted(pb::PocStarted {
            owner_id: "se-3".into(),
            use_case: "line monitoring".into(),
        }),
        P::PocCompleted(pb::PocCompleted {
            outcome: pb::PocOutcome::Success as i32,
            notes: "all criteria met".into(),
        }),
        P::Signed(pb::Signed {
            amount_minor: 12_000_000,
            currency: "CNY".into(),
            contract_id: "C-2026-001".into(),
        }),
        P::Lost(pb::Lost {
            reason: "price".into(),
            competitor: "globex".into(),
            code: pb::LossReason::Price as i32,
            rep_id: "rep-7".into(),
        }),
        P::Recycled(pb::Recycled {
            reason: "no project this year".into(),
            ..Default::default()
        }),
        P::Disqualified(pb::Disqualified {
            reason: String::new(),
            code: pb::DisqualifyReason::NotABuyer as i32,
            rep_id: String::new(),
        }),
        P::ContactRoleAssigned(pb::ContactRoleAssigned {
            role: pb::ContactRole::DecisionMaker as i32,
            primary: true,
            rep_id: "rep-7".into(),
        }),
        P::ReferredBy(pb::ReferredBy {
            referrer_lead_id: "lead-7".into(),
            rep_id: "rep-7".into(),
        }),
    ];
    payloads
        .into_iter()
        .enumerate()
        .map(|(i, p)| pb::Event {
            lead_id: "lead-42".into(),
            occurred_at: ts(86_400 - i as i64 * 600),
            source: Some(pb::SourceRef {
                system: "hubspot".into(),
                event_id: format!("evt-{i}"),
            }),
            payload: Some(p),
            ..Default::default()
        })
        .collect()
}

/// An anonymous visitor's touch and its link to a lead, as a client sends them.
pub fn visitor_events() -> Vec<pb::Event> {
    let touch = client_events().remove(1);
    let visitor = |id: &str, payload| pb::Event {
        lead_id: String::new(),
        visitor_id: "cookie-1".into(),
        payload: Some(payload),
        source: Some(pb::SourceRef {
            system: "hubspot".into(),
            event_id: id.into(),
        }),
        ..touch.clone()
    };
    vec![
        visitor("visit-1", touch.payload.clone().expect("a touch")),
        visitor(
            "link-1",
            P::IdentityLinked(pb::IdentityLinked {
                lead_id: "lead-42".into(),
            }),
        ),
    ]
}

/// A target-account listing, as a client sends it (no lead id: ingest files it under the
/// account's key).
pub fn account_events() -> Vec<pb::Event> {
    let touch = client_events().remove(1);
    let fact = |id: &str, payload| pb::Event {
        lead_id: String::new(),
        payload: Some(payload),
        source: Some(pb::SourceRef {
            system: "salesforce".into(),
            event_id: id.into(),
        }),
        ..touch.clone()
    };
    let mut out = vec![
        fact(
            "cover-1",
            P::AccountCoverageAssigned(pb::AccountCoverageAssigned {
                account: "account:crm-7".into(),
                role: pb::CoverageRole::Presales as i32,
                rep_id: "rep-7".into(),
                removed: false,
            }),
        ),
        fact(
            "renew-1",
            P::RenewalScheduled(pb::RenewalScheduled {
                account: "acme.com".into(),
                contract_id: "C-1".into(),
                renews_on: "2027-03-31".into(),
                amount_minor: 1_200_000,
                currency: "CNY".into(),
            }),
        ),
    ];
    out.insert(0, pb::Event {
        lead_id: String::new(),
        payload: Some(P::TargetAccountListed(pb::TargetAccountListed {
            account: "www.Acme.com".into(),
            name: "Acme".into(),
            tier: "KA".into(),
            owner_rep_id: "rep-7".into(),
            owner_team: "ka-desk".into(),
            delisted: false,
        })),
        source: Some(pb::SourceRef {
            system: "salesforce".into(),
            event_id: "list-1".into(),
        }),
        ..touch
    });
    out
}

/// What ingest writes to the log for a client event.
pub fn prepared(e: pb::Event) -> pb::Event {
    let mut v = Violations::default();
    leadledger_grpc::ingest::prepare(e, "acme", now(), Some(&crate::trace_context()), "", &mut v)
        .unwrap_or_else(|| panic!("a seed event is invalid: {v:?}"))
}

/// The `decode_record` input for a record value with the writer's own headers and no others
/// (see that target for the layout).
pub fn record_input(value: &[u8]) -> Vec<u8> {
    let mut input = vec![0b011, 0, 0];
    input.extend_from_slice(value);
    input
}

/// The `validate_request` input for an encoded `AppendRequest` (the wire form).
pub fn request_input(r: &pb::AppendRequest) -> Vec<u8> {
    let mut input = vec![0];
    input.extend(r.encode_to_vec());
    input
}

/// The seeds of `target`, named.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    match target {
        "decode_record" => {
            let mut out: Vec<(String, Vec<u8>)> = client_events()
                .into_iter()
                .map(prepared)
                .map(|e| {
                    let name = leadledger_api::convert::event_type_of(&e).to_string();
                    (name, record_input(&leadledger_log::envelope::encode(&e)))
                })
                .collect();
            // A payload type this reader does not know (a newer writer): no payload field,
            // the type named by `event_type`.
            let mut newer = prepared(client_events().remove(1));
            newer.payload = None;
            newer.event_type = "sla_breached".into();
            out.push((
                "newer_writer".into(),
                record_input(&leadledger_log::envelope::encode(&newer)),
            ));
            for (name, e) in ["visitor_touch", "visitor_linked"]
                .into_iter()
                .zip(visitor_events().into_iter().map(prepared))
            {
                out.push((name.into(), record_input(&leadledger_log::envelope::encode(&e))));
            }
            for e in account_events().into_iter().map(prepared) {
                out.push((
                    e.event_type.clone(),
                    record_input(&leadledger_log::envelope::encode(&e)),
                ));
            }
            // A record naming both a lead and a visitor, which ingest refuses (a crash of
            // the target once, when it held that ingest accepts what the validator does).
            let mut both = prepared(client_events().remove(12));
            both.visitor_id = "recycled".into();
            out.push((
                "lead_and_visitor".into(),
                record_input(&leadledger_log::envelope::encode(&both)),
            ));
            out
        }
        "validate_request" => {
            let all = client_events();
            let mut invalid = all[10].clone();
            if let Some(P::Signed(s)) = invalid.payload.as_mut() {
                s.amount_minor = -1;
                s.currency = "cny".into();
            }
            invalid.occurred_at = ts(-3 * 86_400);
            [
                ("capture", vec![all[0].clone()]),
                ("every_type", all.clone()),
                ("invalid_signed", vec![all[0].clone(), invalid]),
                ("visitor", visitor_events()),
                ("account", account_events()),
            ]
            .into_iter()
            .map(|(name, events)| {
                let r = pb::AppendRequest {
                    tenant_id: "acme".into(),
                    events,
                };
                (name.to_string(), request_input(&r))
            })
            .collect()
        }
        "token" => [
            ("two_partitions", "ct1:leadledger.events:0@7,2@9"),
            ("no_offsets", "ct1:leadledger.events:"),
            ("colon_in_topic", "ct1:a:b:3@0"),
        ]
        .into_iter()
        .map(|(n, s)| (n.to_string(), s.as_bytes().to_vec()))
        .collect(),
        other => panic!("no seeds for {other}"),
    }
}

/// With `LEADLEDGER_FUZZ_SEEDS=<dir>` set: writes `target`'s seeds to `<dir>` and exits.
pub fn write_if_asked(target: &str) {
    let Some(dir) = std::env::var_os(ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).expect("create the seed directory");
    for (name, bytes) in seeds(target) {
        std::fs::write(dir.join(name), bytes).expect("write a seed");
    }
    std::process::exit(0);
}
