//! Malformed input end to end: every row of one table is a request a client can get wrong,
//! sent to the real server; each must fail with the exact gRPC code and the exact
//! `google.rpc.BadRequest` field paths (or message), and append nothing to the log. After the
//! table the server must still serve a valid write and read. Streams cut by the client
//! mid-way and empty streams are covered too.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::ingest_service_client::IngestServiceClient;
use leadledger_api::pb::query_service_client::QueryServiceClient;
use leadledger_api::pb::{self, event::Payload};
use leadledger_e2e::events::{
    accepted, at, captured, event, linked, mql, referred, role, signed, touch,
};
use leadledger_e2e::{append, violation_fields, TestEnv};
use prost::Message as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::Code;

const T: &str = "acme";

/// One request to send.
enum Call {
    /// `Append`, optionally with an `x-tenant-id` header.
    Append(pb::AppendRequest, Option<&'static str>),
    /// An `Append` whose encoded bytes are sent as they are (invalid UTF-8 in strings).
    RawAppend(Vec<u8>),
    Capture(Box<pb::CaptureLeadRequest>, Option<&'static str>),
    GetLead(pb::GetLeadRequest, Option<&'static str>),
    ListLeads(Box<pb::ListLeadsRequest>),
    Funnel(pb::FunnelRequest),
    Velocity(pb::VelocityRequest),
    Cohorts(pb::CohortsRequest),
    Reasons(pb::ReasonsRequest),
    Revenue(pb::RevenueEquationRequest),
    Attribution(pb::AttributionRequest),
    CompareModels(pb::CompareModelsRequest),
    Roi(pb::RoiRequest),
    Erase(pb::EraseContactRequest),
    Merge(pb::MergeLeadsRequest),
    Unmerge(pb::UnmergeLeadRequest),
    Duplicates(pb::ListDuplicateCandidatesRequest),
    Account(pb::GetAccountRequest),
}

/// What the error must carry besides its code.
enum Want {
    /// Exactly these BadRequest field paths, in order.
    Fields(&'static [&'static str]),
    /// No BadRequest details needed; the message must contain this.
    Message(&'static str),
    /// These field paths and a message containing this.
    FieldsAndMessage(&'static [&'static str], &'static str),
}

struct Case {
    name: &'static str,
    build: fn() -> Call,
    code: Code,
    want: Want,
}

fn case(name: &'static str, build: fn() -> Call, code: Code, want: Want) -> Case {
    Case {
        name,
        build,
        code,
        want,
    }
}

fn batch(events: Vec<pb::Event>) -> Call {
    Call::Append(
        pb::AppendRequest {
            tenant_id: T.into(),
            events,
        },
        None,
    )
}

fn one(e: pb::Event) -> Call {
    batch(vec![e])
}

fn cap() -> pb::Event {
    captured("L-1", "c1", at(4, 1, 9), "website")
}

/// A valid capture with `f` applied to its payload.
fn cap_with(f: fn(&mut pb::LeadCaptured)) -> Call {
    let mut e = cap();
    let Some(Payload::LeadCaptured(c)) = e.payload.as_mut() else {
        unreachable!()
    };
    f(c);
    one(e)
}

/// A valid capture with `f` applied to the event.
fn cap_event(f: fn(&mut pb::Event)) -> Call {
    let mut e = cap();
    f(&mut e);
    one(e)
}

/// An event of L-1 from the CRM with `payload`.
fn crm(p: Payload) -> pb::Event {
    event("L-1", "salesforce", "x1", at(4, 2, 9), p)
}

/// A target-account listing sent as clients send it: no lead id.
fn listing(l: pb::TargetAccountListed) -> pb::Event {
    event(
        "",
        "crm",
        "t1",
        at(4, 2, 9),
        Payload::TargetAccountListed(l),
    )
}

fn touch_payload() -> Payload {
    Payload::TouchRecorded(pb::TouchRecorded {
        channel: "email".into(),
        touch_type: pb::TouchType::AdClick as i32,
        ..Default::default()
    })
}

fn signed_with(amount_minor: i64, currency: &str) -> Call {
    one(crm(Payload::Signed(pb::Signed {
        amount_minor,
        currency: currency.into(),
        contract_id: "C-1".into(),
    })))
}

fn ts(seconds: i64, nanos: i32) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos })
}

fn capture_req() -> pb::CaptureLeadRequest {
    let Some(Payload::LeadCaptured(lead)) = cap().payload else {
        unreachable!()
    };
    pb::CaptureLeadRequest {
        tenant_id: T.into(),
        lead_id: "L-1".into(),
        source_system: "hubspot".into(),
        source_event_id: "form-1".into(),
        occurred_at: None,
        lead: Some(lead),
    }
}

fn get_lead(lead: &str, token: &str) -> Call {
    Call::GetLead(
        pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: lead.into(),
            consistency_token: token.into(),
        },
        None,
    )
}

fn list(f: fn(&mut pb::ListLeadsRequest)) -> Call {
    let mut r = pb::ListLeadsRequest {
        tenant_id: T.into(),
        ..Default::default()
    };
    f(&mut r);
    Call::ListLeads(Box::new(r))
}

fn funnel(f: fn(&mut pb::FunnelRequest)) -> Call {
    let mut r = pb::FunnelRequest {
        tenant_id: T.into(),
        ..Default::default()
    };
    f(&mut r);
    Call::Funnel(r)
}

fn velocity(f: fn(&mut pb::VelocityRequest)) -> Call {
    let mut r = pb::VelocityRequest {
        tenant_id: T.into(),
        ..Default::default()
    };
    f(&mut r);
    Call::Velocity(r)
}

fn cohorts(f: fn(&mut pb::CohortsRequest)) -> Call {
    let mut r = pb::CohortsRequest {
        tenant_id: T.into(),
        ..Default::default()
    };
    f(&mut r);
    Call::Cohorts(r)
}

fn reasons(f: fn(&mut pb::ReasonsRequest)) -> Call {
    let mut r = pb::ReasonsRequest {
        tenant_id: T.into(),
        ..Default::default()
    };
    f(&mut r);
    Call::Reasons(r)
}

fn revenue(f: fn(&mut pb::RevenueEquationRequest)) -> Call {
    let mut r = pb::RevenueEquationRequest {
        tenant_id: T.into(),
        ..Default::default()
    };
    f(&mut r);
    Call::Revenue(r)
}

/// A spend statement with `f` applied (valid as it is: April on `sem`, lead id empty).
fn spend_with(f: fn(&mut pb::Event, &mut pb::SpendRecorded)) -> Call {
    let mut s = pb::SpendRecorded {
        channel: "sem".into(),
        period_start: "2026-04-01".into(),
        period_end: "2026-04-30".into(),
        amount_minor: 100,
        currency: "CNY".into(),
        ..Default::default()
    };
    let mut e = event(
        "",
        "kingdee",
        "sp1",
        at(5, 3, 9),
        Payload::SpendRecorded(s.clone()),
    );
    f(&mut e, &mut s);
    e.payload = Some(Payload::SpendRecorded(s));
    one(e)
}

/// A receipt of `amount` in `currency` for lead L-1.
fn payment(amount_minor: i64, currency: &'static str) -> Call {
    one(event(
        "L-1",
        "kingdee",
        "p1",
        at(6, 1, 9),
        Payload::PaymentCollected(pb::PaymentCollected {
            amount_minor,
            currency: currency.into(),
            ..Default::default()
        }),
    ))
}

fn days(n: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: n * 86_400,
        nanos: 0,
    })
}

/// `hay` with the single occurrence of `needle` replaced by `with` (same length).
fn replace_once(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    assert_eq!(needle.len(), with.len());
    let at: Vec<usize> = hay
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "placeholder must occur exactly once");
    let mut out = hay.to_vec();
    out[at[0]..at[0] + with.len()].copy_from_slice(with);
    out
}

/// An encoded `AppendRequest` with invalid UTF-8 where `placeholder` was.
fn raw_append(tenant: &str, lead: &str, placeholder: &str) -> Call {
    let bytes = pb::AppendRequest {
        tenant_id: tenant.into(),
        events: vec![mql(lead, "m1", at(4, 2, 9))],
    }
    .encode_to_vec();
    let invalid = vec![0xff; placeholder.len()];
    Call::RawAppend(replace_once(&bytes, placeholder.as_bytes(), &invalid))
}

fn cases() -> Vec<Case> {
    use Want::{Fields, FieldsAndMessage, Message};
    const INVALID: Code = Code::InvalidArgument;
    vec![
        // --- ids ---
        case(
            "lead_id missing",
            || cap_event(|e| e.lead_id.clear()),
            INVALID,
            Fields(&["events[0].lead_id"]),
        ),
        case(
            "lead_id blank",
            || cap_event(|e| e.lead_id = "   ".into()),
            INVALID,
            Fields(&["events[0].lead_id"]),
        ),
        case(
            "lead_id with a control character",
            || cap_event(|e| e.lead_id = "L-\u{7}1".into()),
            INVALID,
            Fields(&["events[0].lead_id"]),
        ),
        case(
            "lead_id of 129 characters",
            || cap_event(|e| e.lead_id = "L".repeat(129)),
            INVALID,
            Fields(&["events[0].lead_id"]),
        ),
        case(
            "source missing",
            || cap_event(|e| e.source = None),
            INVALID,
            Fields(&["events[0].source.system"]),
        ),
        case(
            "source.system blank",
            || cap_event(|e| e.source.as_mut().unwrap().system.clear()),
            INVALID,
            Fields(&["events[0].source.system"]),
        ),
        case(
            "source.system with spaces and punctuation",
            || cap_event(|e| e.source.as_mut().unwrap().system = "Sales Force!".into()),
            INVALID,
            Fields(&["events[0].source.system"]),
        ),
        case(
            "source.event_id of 257 characters",
            || cap_event(|e| e.source.as_mut().unwrap().event_id = "x".repeat(257)),
            INVALID,
            Fields(&["events[0].source.event_id"]),
        ),
        case(
            "client event_id not a UUID",
            || {
                cap_event(|e| {
                    e.source.as_mut().unwrap().event_id.clear();
                    e.event_id = "not-a-uuid".into();
                })
            },
            INVALID,
            Fields(&["events[0].event_id"]),
        ),
        // --- enum numbers out of range ---
        case(
            "segment 9",
            || cap_with(|c| c.company.as_mut().unwrap().segment = 9),
            INVALID,
            FieldsAndMessage(&["events[0].payload.lead_captured.company.segment"], "9"),
        ),
        case(
            "segment 9 and a bad email: both reported in one answer",
            || {
                cap_with(|c| {
                    c.company.as_mut().unwrap().segment = 9;
                    c.contact.as_mut().unwrap().email = "not-an-email".into();
                })
            },
            INVALID,
            Fields(&[
                "events[0].payload.lead_captured.company.segment",
                "events[0].payload.lead_captured.contact.email",
            ]),
        ),
        case(
            "reject reason 99",
            || {
                one(crm(Payload::SalesRejected(pb::SalesRejected {
                    reason: 99,
                    text: "no".into(),
                    rep_id: "rep-1".into(),
                })))
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload.sales_rejected.reason"], "99"),
        ),
        case(
            "reject reason unspecified",
            || {
                one(crm(Payload::SalesRejected(pb::SalesRejected {
                    reason: 0,
                    ..Default::default()
                })))
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload.sales_rejected.reason"], "required"),
        ),
        case(
            "touch type 42",
            || {
                one(crm(Payload::TouchRecorded(pb::TouchRecorded {
                    channel: "email".into(),
                    touch_type: 42,
                    ..Default::default()
                })))
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload.touch_recorded.touch_type"], "42"),
        ),
        case(
            "poc outcome 7",
            || {
                one(crm(Payload::PocCompleted(pb::PocCompleted {
                    outcome: 7,
                    notes: String::new(),
                })))
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload.poc_completed.outcome"], "7"),
        ),
        case(
            "feedback stage 12",
            || {
                one(crm(Payload::FeedbackRecorded(pb::FeedbackRecorded {
                    stage: 12,
                    rep_id: "rep-1".into(),
                    ..Default::default()
                })))
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload.feedback_recorded.stage"], "12"),
        ),
        case(
            "follow-up activity type 77",
            || {
                one(crm(Payload::FollowUpLogged(pb::FollowUpLogged {
                    activity_type: 77,
                    rep_id: "rep-1".into(),
                    note: String::new(),
                })))
            },
            INVALID,
            Fields(&["events[0].payload.follow_up_logged.activity_type"]),
        ),
        // --- payload ---
        case(
            "payload missing",
            || cap_event(|e| e.payload = None),
            INVALID,
            Fields(&["events[0].payload"]),
        ),
        case(
            "lead_captured without contact",
            || cap_with(|c| c.contact = None),
            INVALID,
            Fields(&["events[0].payload.lead_captured.contact"]),
        ),
        case(
            "contact without email and phone",
            || {
                cap_with(|c| {
                    let contact = c.contact.as_mut().unwrap();
                    contact.email.clear();
                    contact.phone.clear();
                })
            },
            INVALID,
            Fields(&["events[0].payload.lead_captured.contact"]),
        ),
        case(
            "handed_off with no owner field",
            || one(crm(Payload::HandedOff(pb::HandedOff::default()))),
            INVALID,
            Fields(&["events[0].payload.handed_off"]),
        ),
        case(
            "mql score 1001",
            || {
                one(crm(Payload::MqlQualified(pb::MqlQualified {
                    score: 1001,
                    reason: String::new(),
                })))
            },
            INVALID,
            Fields(&["events[0].payload.mql_qualified.score"]),
        ),
        case(
            "lost with a blank reason",
            || {
                one(crm(Payload::Lost(pb::Lost {
                    reason: " ".into(),
                    competitor: String::new(),
                    ..Default::default()
                })))
            },
            INVALID,
            Fields(&["events[0].payload.lost.reason"]),
        ),
        case(
            "lost with a code this reader does not know",
            || {
                one(crm(Payload::Lost(pb::Lost {
                    reason: "price".into(),
                    code: 42,
                    ..Default::default()
                })))
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload.lost.code"], "unknown code 42"),
        ),
        case(
            "recycled as other with no words",
            || {
                one(crm(Payload::Recycled(pb::Recycled {
                    code: pb::RecycleReason::Other as i32,
                    ..Default::default()
                })))
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload.recycled.reason"], "when code is other"),
        ),
        // --- oversize strings ---
        case(
            "contact name of 201 characters",
            || cap_with(|c| c.contact.as_mut().unwrap().name = "名".repeat(201)),
            INVALID,
            FieldsAndMessage(&["events[0].payload.lead_captured.contact.name"], "got 201"),
        ),
        case(
            "follow-up note of 4001 characters",
            || {
                one(crm(Payload::FollowUpLogged(pb::FollowUpLogged {
                    activity_type: pb::ActivityType::Call as i32,
                    rep_id: "rep-1".into(),
                    note: "n".repeat(4001),
                })))
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload.follow_up_logged.note"], "got 4001"),
        ),
        case(
            "landing page URL of 2049 characters",
            || {
                cap_with(|c| {
                    let url = format!("https://example.com/{}", "p".repeat(2049 - 20));
                    assert_eq!(url.len(), 2049);
                    c.source.as_mut().unwrap().landing_page = url;
                })
            },
            INVALID,
            FieldsAndMessage(
                &["events[0].payload.lead_captured.source.landing_page"],
                "got 2049",
            ),
        ),
        // --- batch size ---
        case(
            "501 events",
            || {
                batch(
                    (0..501)
                        .map(|i| mql("L-1", &format!("m{i}"), at(4, 2, 9)))
                        .collect(),
                )
            },
            INVALID,
            FieldsAndMessage(&["events"], "at most 500"),
        ),
        case(
            "empty batch",
            || batch(vec![]),
            INVALID,
            FieldsAndMessage(&["events"], "at least one"),
        ),
        case(
            "one bad event in the middle of a valid batch",
            || {
                let mut bad = signed("L-1", "s1", at(5, 1, 9), 100);
                if let Some(Payload::Signed(s)) = bad.payload.as_mut() {
                    s.currency = "RMB".into();
                }
                batch(vec![
                    cap(),
                    mql("L-1", "m1", at(4, 2, 9)),
                    bad,
                    accepted("L-1", "a1", at(4, 3, 9), "rep-1"),
                ])
            },
            INVALID,
            Fields(&["events[2].payload.signed.currency"]),
        ),
        case(
            "several violations in one event, all named",
            || {
                let mut e = signed(
                    "",
                    "s1",
                    Utc.with_ymd_and_hms(1999, 6, 1, 0, 0, 0).unwrap(),
                    0,
                );
                if let Some(Payload::Signed(s)) = e.payload.as_mut() {
                    s.currency = "usd".into();
                }
                one(e)
            },
            INVALID,
            Fields(&[
                "events[0].lead_id",
                "events[0].occurred_at",
                "events[0].payload.signed.amount_minor",
                "events[0].payload.signed.currency",
            ]),
        ),
        // --- timestamps ---
        case(
            "occurred_at missing",
            || cap_event(|e| e.occurred_at = None),
            INVALID,
            Fields(&["events[0].occurred_at"]),
        ),
        case(
            "occurred_at in 1999",
            || {
                cap_event(|e| {
                    e.occurred_at = Some(time_to_proto(
                        Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap(),
                    ));
                })
            },
            INVALID,
            FieldsAndMessage(&["events[0].occurred_at"], "2000-01-01"),
        ),
        case(
            "occurred_at two days in the future",
            || {
                cap_event(|e| {
                    e.occurred_at = Some(time_to_proto(Utc::now() + chrono::Duration::days(2)));
                })
            },
            INVALID,
            FieldsAndMessage(&["events[0].occurred_at"], "24 hours in the future"),
        ),
        case(
            "occurred_at nanos 2_000_000_000",
            || cap_event(|e| e.occurred_at = ts(1_775_000_000, 2_000_000_000)),
            INVALID,
            FieldsAndMessage(&["events[0].occurred_at"], "not a valid timestamp"),
        ),
        case(
            "occurred_at negative nanos",
            || cap_event(|e| e.occurred_at = ts(1_775_000_000, -1)),
            INVALID,
            Fields(&["events[0].occurred_at"]),
        ),
        case(
            "recorded_at sent by the client with nanos out of range",
            || cap_event(|e| e.recorded_at = ts(1_775_000_000, 2_000_000_000)),
            INVALID,
            Fields(&["events[0].recorded_at"]),
        ),
        // --- amounts and currencies ---
        case(
            "negative amount",
            || signed_with(-100, "CNY"),
            INVALID,
            Fields(&["events[0].payload.signed.amount_minor"]),
        ),
        case(
            "zero amount",
            || signed_with(0, "CNY"),
            INVALID,
            Fields(&["events[0].payload.signed.amount_minor"]),
        ),
        case(
            "amount over 10^15",
            || signed_with(1_000_000_000_000_001, "CNY"),
            INVALID,
            FieldsAndMessage(&["events[0].payload.signed.amount_minor"], "10^15"),
        ),
        case(
            "lower-case currency",
            || signed_with(100, "cny"),
            INVALID,
            Fields(&["events[0].payload.signed.currency"]),
        ),
        case(
            "unknown currency",
            || signed_with(100, "XYZ"),
            INVALID,
            Fields(&["events[0].payload.signed.currency"]),
        ),
        case(
            "empty currency",
            || signed_with(100, ""),
            INVALID,
            Fields(&["events[0].payload.signed.currency"]),
        ),
        case(
            "payment of nothing in no currency",
            || payment(0, "rmb"),
            INVALID,
            Fields(&[
                "events[0].payload.payment_collected.amount_minor",
                "events[0].payload.payment_collected.currency",
            ]),
        ),
        case(
            "payment over 10^15",
            || payment(1_000_000_000_000_001, "CNY"),
            INVALID,
            FieldsAndMessage(
                &["events[0].payload.payment_collected.amount_minor"],
                "10^15",
            ),
        ),
        case(
            "spend filed under a lead's id",
            || spend_with(|e, _| e.lead_id = "L-1".into()),
            INVALID,
            FieldsAndMessage(&["events[0].lead_id"], "must be empty for spend_recorded"),
        ),
        case(
            "spend ending before it starts, negative, in no currency, on no channel",
            || {
                spend_with(|_, s| {
                    s.channel.clear();
                    s.period_end = "2026-03-31".into();
                    s.amount_minor = -1;
                    s.currency = "cny".into();
                })
            },
            INVALID,
            Fields(&[
                "events[0].payload.spend_recorded.channel",
                "events[0].payload.spend_recorded.period_end",
                "events[0].payload.spend_recorded.amount_minor",
                "events[0].payload.spend_recorded.currency",
            ]),
        ),
        case(
            "spend period not a date, and longer than a year",
            || {
                spend_with(|_, s| {
                    s.period_start = "April".into();
                })
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload.spend_recorded.period_start"], "YYYY-MM-DD"),
        ),
        case(
            "spend over more than a year",
            || spend_with(|_, s| s.period_end = "2027-05-01".into()),
            INVALID,
            FieldsAndMessage(&["events[0].payload.spend_recorded.period_end"], "366 days"),
        ),
        case(
            "a lead id in spend's namespace",
            || {
                let mut e = cap();
                e.lead_id = "~spend/sem/".into();
                one(e)
            },
            INVALID,
            FieldsAndMessage(&["events[0].lead_id"], "reserved for spend"),
        ),
        // --- anonymous visitors (docs/IDENTITY.md) ---
        case(
            "a visitor's fact that is no touch",
            || {
                one(pb::Event {
                    visitor_id: "ck-1".into(),
                    ..mql("", "m1", at(4, 2, 9))
                })
            },
            INVALID,
            FieldsAndMessage(&["events[0].visitor_id"], "touches and its identity_linked only"),
        ),
        case(
            "a fact of a lead and of a visitor at once",
            || {
                one(pb::Event {
                    visitor_id: "ck-1".into(),
                    ..touch("L-1", "t1", at(4, 2, 9), "sem")
                })
            },
            INVALID,
            FieldsAndMessage(&["events[0].visitor_id"], "not both"),
        ),
        case(
            "a lead id spelled as a visitor's key",
            || one(touch("~visitor/ck-1", "t1", at(4, 2, 9), "sem")),
            INVALID,
            FieldsAndMessage(&["events[0].lead_id"], "name an anonymous visitor in visitor_id"),
        ),
        case(
            "a link without a visitor, to a reserved id",
            || one(linked("", "~spend/sem/", "k1", at(4, 2, 9))),
            INVALID,
            Fields(&[
                "events[0].lead_id",
                "events[0].visitor_id",
                "events[0].payload.identity_linked.lead_id",
            ]),
        ),
        case(
            "a link to no lead, from a visitor id too long",
            || one(linked(&"v".repeat(129), "", "k1", at(4, 2, 9))),
            INVALID,
            Fields(&[
                "events[0].visitor_id",
                "events[0].payload.identity_linked.lead_id",
            ]),
        ),
        // --- accounts and buying committees (docs/IDENTITY.md) ---
        case(
            "a committee role left unspecified, by a rep id too long",
            || {
                let mut e = role("L-1", "r1", at(4, 2, 9), pb::ContactRole::Unspecified, false);
                if let Some(Payload::ContactRoleAssigned(r)) = e.payload.as_mut() {
                    r.rep_id = "r".repeat(129);
                }
                one(e)
            },
            INVALID,
            Fields(&[
                "events[0].payload.contact_role_assigned.role",
                "events[0].payload.contact_role_assigned.rep_id",
            ]),
        ),
        case(
            "a committee role of a number this server does not know",
            || {
                let mut e = role("L-1", "r1", at(4, 2, 9), pb::ContactRole::User, false);
                if let Some(Payload::ContactRoleAssigned(r)) = e.payload.as_mut() {
                    r.role = 99;
                }
                one(e)
            },
            INVALID,
            FieldsAndMessage(
                &["events[0].payload.contact_role_assigned.role"],
                "got 99",
            ),
        ),
        case(
            "a contact no longer involved made the primary one",
            || one(role("L-1", "r1", at(4, 2, 9), pb::ContactRole::NotInvolved, true)),
            INVALID,
            Fields(&["events[0].payload.contact_role_assigned.primary"]),
        ),
        case(
            "a committee role of an anonymous visitor",
            || {
                one(pb::Event {
                    visitor_id: "ck-1".into(),
                    ..role("", "r1", at(4, 2, 9), pb::ContactRole::User, false)
                })
            },
            INVALID,
            FieldsAndMessage(&["events[0].visitor_id"], "touches and its identity_linked only"),
        ),
        case(
            "a referral naming no referrer, by a rep id too long",
            || {
                let mut e = referred("L-1", "f1", at(4, 2, 9), "");
                if let Some(Payload::ReferredBy(r)) = e.payload.as_mut() {
                    r.rep_id = "r".repeat(129);
                }
                one(e)
            },
            INVALID,
            Fields(&[
                "events[0].payload.referred_by.referrer_lead_id",
                "events[0].payload.referred_by.rep_id",
            ]),
        ),
        case(
            "a lead referring itself",
            || one(referred("L-1", "f1", at(4, 2, 9), "L-1")),
            INVALID,
            FieldsAndMessage(
                &["events[0].payload.referred_by.referrer_lead_id"],
                "cannot refer itself",
            ),
        ),
        case(
            "a referral by a reserved key",
            || one(referred("L-1", "f1", at(4, 2, 9), "~visitor/ck-1")),
            INVALID,
            FieldsAndMessage(&["events[0].payload.referred_by.referrer_lead_id"], "`~`"),
        ),
        case(
            "a referral of an anonymous visitor",
            || {
                one(pb::Event {
                    visitor_id: "ck-1".into(),
                    ..referred("", "f1", at(4, 2, 9), "L-2")
                })
            },
            INVALID,
            FieldsAndMessage(&["events[0].visitor_id"], "touches and its identity_linked only"),
        ),
        case(
            "an account id with a control character",
            || cap_with(|c| c.company.as_mut().unwrap().account_id = "crm\u{7}".into()),
            INVALID,
            FieldsAndMessage(
                &["events[0].payload.lead_captured.company.account_id"],
                "control characters",
            ),
        ),
        case(
            "an account id with spaces around it",
            || cap_with(|c| c.company.as_mut().unwrap().account_id = " crm-7 ".into()),
            INVALID,
            FieldsAndMessage(
                &["events[0].payload.lead_captured.company.account_id"],
                "white space",
            ),
        ),
        // --- contact and company shapes ---
        case(
            "email without @",
            || cap_with(|c| c.contact.as_mut().unwrap().email = "li.wei.example.com".into()),
            INVALID,
            Fields(&["events[0].payload.lead_captured.contact.email"]),
        ),
        case(
            "email with a single-label domain",
            || cap_with(|c| c.contact.as_mut().unwrap().email = "li@localhost".into()),
            INVALID,
            Fields(&["events[0].payload.lead_captured.contact.email"]),
        ),
        case(
            "email with a space",
            || cap_with(|c| c.contact.as_mut().unwrap().email = "li wei@example.com".into()),
            INVALID,
            Fields(&["events[0].payload.lead_captured.contact.email"]),
        ),
        case(
            "email with two @",
            || cap_with(|c| c.contact.as_mut().unwrap().email = "a@b@example.com".into()),
            INVALID,
            Fields(&["events[0].payload.lead_captured.contact.email"]),
        ),
        case(
            "phone with letters",
            || cap_with(|c| c.contact.as_mut().unwrap().phone = "call me maybe".into()),
            INVALID,
            Fields(&["events[0].payload.lead_captured.contact.phone"]),
        ),
        case(
            "phone with too few digits",
            || cap_with(|c| c.contact.as_mut().unwrap().phone = "+86 12".into()),
            INVALID,
            Fields(&["events[0].payload.lead_captured.contact.phone"]),
        ),
        case(
            "phone of 33 characters",
            || cap_with(|c| c.contact.as_mut().unwrap().phone = "1".repeat(33)),
            INVALID,
            Fields(&["events[0].payload.lead_captured.contact.phone"]),
        ),
        case(
            "domain without a dot",
            || cap_with(|c| c.company.as_mut().unwrap().domain = "example".into()),
            INVALID,
            Fields(&["events[0].payload.lead_captured.company.domain"]),
        ),
        case(
            "domain label starting with a hyphen",
            || cap_with(|c| c.company.as_mut().unwrap().domain = "-bad.example.com".into()),
            INVALID,
            Fields(&["events[0].payload.lead_captured.company.domain"]),
        ),
        case(
            "domain with a numeric TLD",
            || cap_with(|c| c.company.as_mut().unwrap().domain = "example.c0m".into()),
            INVALID,
            Fields(&["events[0].payload.lead_captured.company.domain"]),
        ),
        case(
            "upper-case channel",
            || cap_with(|c| c.source.as_mut().unwrap().channel = "Website".into()),
            INVALID,
            Fields(&["events[0].payload.lead_captured.source.channel"]),
        ),
        case(
            "channel missing",
            || cap_with(|c| c.source.as_mut().unwrap().channel.clear()),
            INVALID,
            FieldsAndMessage(
                &["events[0].payload.lead_captured.source.channel"],
                "required",
            ),
        ),
        case(
            "touch channel with spaces",
            || {
                one(crm(Payload::TouchRecorded(pb::TouchRecorded {
                    channel: "paid search".into(),
                    touch_type: pb::TouchType::AdClick as i32,
                    ..Default::default()
                })))
            },
            INVALID,
            Fields(&["events[0].payload.touch_recorded.channel"]),
        ),
        // --- tenants and versions ---
        case(
            "event tenant differs from the request's",
            || cap_event(|e| e.tenant_id = "globex".into()),
            INVALID,
            FieldsAndMessage(&["events[0].tenant_id"], "differs"),
        ),
        case(
            "x-tenant-id header differs from the field",
            || {
                Call::Append(
                    pb::AppendRequest {
                        tenant_id: T.into(),
                        events: vec![cap()],
                    },
                    Some("globex"),
                )
            },
            INVALID,
            FieldsAndMessage(&["tenant_id"], "x-tenant-id"),
        ),
        case(
            "tenant from the header, event names another",
            || {
                let mut e = cap();
                e.tenant_id = "globex".into();
                Call::Append(
                    pb::AppendRequest {
                        tenant_id: String::new(),
                        events: vec![e],
                    },
                    Some(T),
                )
            },
            INVALID,
            Fields(&["events[0].tenant_id"]),
        ),
        case(
            "no tenant at all",
            || {
                Call::Append(
                    pb::AppendRequest {
                        tenant_id: String::new(),
                        events: vec![cap()],
                    },
                    None,
                )
            },
            INVALID,
            FieldsAndMessage(&["tenant_id"], "required"),
        ),
        case(
            "tenant with bad characters",
            || {
                Call::Append(
                    pb::AppendRequest {
                        tenant_id: "acme corp/east".into(),
                        events: vec![cap()],
                    },
                    None,
                )
            },
            INVALID,
            Fields(&["tenant_id"]),
        ),
        case(
            "tenant of 65 characters",
            || {
                Call::Append(
                    pb::AppendRequest {
                        tenant_id: "t".repeat(65),
                        events: vec![cap()],
                    },
                    None,
                )
            },
            INVALID,
            Fields(&["tenant_id"]),
        ),
        case(
            "schema_version 2",
            || cap_event(|e| e.schema_version = 2),
            INVALID,
            FieldsAndMessage(&["events[0].schema_version"], "unknown schema version"),
        ),
        // --- invalid UTF-8 (raw protobuf bytes; the codec refuses them as the caller's
        // fault, INVALID_ARGUMENT, not a server bug) ---
        case(
            "tenant_id bytes not UTF-8",
            || raw_append("PLACEHOLDER", "L-1", "PLACEHOLDER"),
            INVALID,
            Message("not valid protobuf"),
        ),
        case(
            "lead_id bytes not UTF-8",
            || raw_append(T, "L-PLACEHOLDER", "PLACEHOLDER"),
            INVALID,
            Message("not UTF-8"),
        ),
        // --- payloads only leadledger writes: that reason first and alone ---
        case(
            "sla_breached appended by a client (with a missing lead_id too)",
            || {
                let mut e = crm(Payload::SlaBreached(pb::SlaAlert::default()));
                e.lead_id = String::new();
                one(e)
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload"], "clients cannot append this type"),
        ),
        case(
            "a reserved source system",
            || cap_event(|e| e.source.as_mut().unwrap().system = "leadledger.ownership".into()),
            INVALID,
            FieldsAndMessage(&["events[0].source.system"], "reserved"),
        ),
        // --- attribution currency: refused as ingest refuses it ---
        case(
            "Attribution in an unknown currency",
            || {
                Call::Attribution(pb::AttributionRequest {
                    tenant_id: T.into(),
                    model: "linear".into(),
                    conversion: pb::ConversionKind::Revenue as i32,
                    group_by: pb::GroupBy::Channel as i32,
                    currency: "yuan".into(),
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&["currency"]),
        ),
        case(
            "CompareModels in a lower-case currency",
            || {
                Call::CompareModels(pb::CompareModelsRequest {
                    tenant_id: T.into(),
                    conversion: pb::ConversionKind::Revenue as i32,
                    currency: "cny".into(),
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&["currency"]),
        ),
        // --- account scope: an account-level word ---
        case(
            "Attribution account scope at contact level",
            || {
                Call::Attribution(pb::AttributionRequest {
                    tenant_id: T.into(),
                    model: "linear".into(),
                    conversion: pb::ConversionKind::Signed as i32,
                    account_scope: pb::AccountScope::PrimaryContact as i32,
                    ..Default::default()
                })
            },
            INVALID,
            FieldsAndMessage(&["account_scope"], "ATTRIBUTION_LEVEL_ACCOUNT"),
        ),
        case(
            "CompareModels unknown account scope",
            || {
                Call::CompareModels(pb::CompareModelsRequest {
                    tenant_id: T.into(),
                    conversion: pb::ConversionKind::Signed as i32,
                    level: pb::AttributionLevel::Account as i32,
                    account_scope: 12,
                    ..Default::default()
                })
            },
            INVALID,
            FieldsAndMessage(&["account_scope"], "unknown value 12"),
        ),
        // --- CaptureLead ---
        case(
            "CaptureLead without lead",
            || {
                let mut r = capture_req();
                r.lead = None;
                Call::Capture(Box::new(r), None)
            },
            INVALID,
            Fields(&["lead"]),
        ),
        case(
            "CaptureLead without lead_id",
            || {
                let mut r = capture_req();
                r.lead_id.clear();
                Call::Capture(Box::new(r), None)
            },
            INVALID,
            Fields(&["lead_id"]),
        ),
        case(
            "CaptureLead without source_system",
            || {
                let mut r = capture_req();
                r.source_system.clear();
                Call::Capture(Box::new(r), None)
            },
            INVALID,
            Fields(&["source_system"]),
        ),
        case(
            "CaptureLead captured in 1999",
            || {
                let mut r = capture_req();
                r.occurred_at = Some(time_to_proto(
                    Utc.with_ymd_and_hms(1999, 1, 1, 0, 0, 0).unwrap(),
                ));
                Call::Capture(Box::new(r), None)
            },
            INVALID,
            Fields(&["occurred_at"]),
        ),
        case(
            "CaptureLead with an upper-case channel and a bad domain",
            || {
                let mut r = capture_req();
                let lead = r.lead.as_mut().unwrap();
                lead.source.as_mut().unwrap().channel = "SEM".into();
                lead.company.as_mut().unwrap().domain = "not a domain".into();
                Call::Capture(Box::new(r), None)
            },
            INVALID,
            Fields(&["lead.company.domain", "lead.source.channel"]),
        ),
        case(
            "CaptureLead tenant header differs from the field",
            || Call::Capture(Box::new(capture_req()), Some("globex")),
            INVALID,
            Fields(&["tenant_id"]),
        ),
        // --- queries ---
        case(
            "GetLead consistency token garbage",
            || get_lead("L-1", "garbage"),
            INVALID,
            Fields(&["consistency_token"]),
        ),
        case(
            "GetLead consistency token with a negative offset",
            || get_lead("L-1", "ct2:acme:some.topic:0@-5"),
            INVALID,
            Fields(&["consistency_token"]),
        ),
        case(
            "GetLead consistency token with a non-numeric partition",
            || get_lead("L-1", "ct2:acme:some.topic:p0@5"),
            INVALID,
            Fields(&["consistency_token"]),
        ),
        case(
            "GetLead consistency token of another topic",
            || get_lead("L-1", "ct2:acme:someone-elses.events:0@5"),
            INVALID,
            FieldsAndMessage(&["consistency_token"], "names topic"),
        ),
        case(
            "GetLead without lead_id",
            || get_lead("", ""),
            INVALID,
            Fields(&["lead_id"]),
        ),
        case(
            "GetLead without tenant",
            || {
                Call::GetLead(
                    pb::GetLeadRequest {
                        lead_id: "L-1".into(),
                        ..Default::default()
                    },
                    None,
                )
            },
            INVALID,
            Fields(&["tenant_id"]),
        ),
        case(
            "GetLead tenant header differs from the field",
            || {
                Call::GetLead(
                    pb::GetLeadRequest {
                        tenant_id: T.into(),
                        lead_id: "L-1".into(),
                        consistency_token: String::new(),
                    },
                    Some("globex"),
                )
            },
            INVALID,
            Fields(&["tenant_id"]),
        ),
        case(
            "ListLeads page_size 1001",
            || list(|r| r.page_size = 1001),
            INVALID,
            FieldsAndMessage(&["page_size"], "1..1000"),
        ),
        case(
            "ListLeads unknown stage filter",
            || list(|r| r.stages = vec![pb::Stage::Mql as i32, 12]),
            INVALID,
            FieldsAndMessage(&["stages[1]"], "12"),
        ),
        case(
            "ListLeads unknown segment",
            || list(|r| r.segment = 9),
            INVALID,
            Fields(&["segment"]),
        ),
        case(
            "ListLeads page token garbage",
            || list(|r| r.page_token = "not-a-cursor".into()),
            INVALID,
            Fields(&["page_token"]),
        ),
        case(
            "ListLeads captured_from nanos out of range",
            || list(|r| r.captured_from = ts(1_775_000_000, 2_000_000_000)),
            INVALID,
            Fields(&["captured_from"]),
        ),
        case(
            "ListLeads entered unknown, advanced_within negative, reached_within alone",
            || {
                list(|r| {
                    r.entered = 99;
                    r.advanced_within = Some(prost_types::Duration {
                        seconds: -86_400,
                        nanos: 0,
                    });
                    r.reached_within = days(7);
                })
            },
            INVALID,
            Fields(&["entered", "advanced_within", "reached_within"]),
        ),
        case(
            "ListLeads advanced_within on a final stage, reached a side stage",
            || {
                list(|r| {
                    r.entered = pb::Stage::Signed as i32;
                    r.advanced_within = days(30);
                    r.reached = pb::Stage::Lost as i32;
                })
            },
            INVALID,
            Fields(&["reached", "advanced_within"]),
        ),
        case(
            "ListLeads exited into no exit, reached a side stage, to before from",
            || {
                list(|r| {
                    r.exited = Some(pb::ExitFilter {
                        kind: pb::Stage::Mql as i32,
                        reached: pb::Stage::Lost as i32,
                        exited_from: ts(1_777_000_000, 0),
                        exited_to: ts(1_775_000_000, 0),
                        ..Default::default()
                    });
                })
            },
            INVALID,
            Fields(&["exited.kind", "exited.reached", "exited.exited_to"]),
        ),
        case(
            "ListLeads as_of not a valid timestamp",
            || list(|r| r.as_of = ts(1_775_000_000, -1)),
            INVALID,
            Fields(&["as_of"]),
        ),
        case(
            "ListLeads consistency token garbage",
            || list(|r| r.consistency_token = "ct2:x".into()),
            INVALID,
            Fields(&["consistency_token"]),
        ),
        case(
            "Funnel unknown dimension",
            || funnel(|r| r.group_by = vec![42]),
            INVALID,
            FieldsAndMessage(&["group_by[0]"], "42"),
        ),
        case(
            "Funnel unspecified dimension after a valid one",
            || {
                funnel(|r| {
                    r.group_by = vec![
                        pb::FunnelDimension::Channel as i32,
                        pb::FunnelDimension::Unspecified as i32,
                    ]
                })
            },
            INVALID,
            Fields(&["group_by[1]"]),
        ),
        case(
            "Funnel captured_to nanos negative",
            || funnel(|r| r.captured_to = ts(1_775_000_000, -5)),
            INVALID,
            Fields(&["captured_to"]),
        ),
        case(
            "Funnel as_of and known_at not valid timestamps",
            || {
                funnel(|r| {
                    r.as_of = ts(1_775_000_000, -1);
                    r.known_at = ts(1_775_000_000, 2_000_000_000);
                })
            },
            INVALID,
            Fields(&["as_of", "known_at"]),
        ),
        case(
            "Funnel unknown level",
            || funnel(|r| r.level = 9),
            INVALID,
            FieldsAndMessage(&["level"], "unknown value 9"),
        ),
        case(
            "Funnel account scope at lead level",
            || funnel(|r| r.account_scope = pb::AccountScope::Committee as i32),
            INVALID,
            FieldsAndMessage(&["account_scope"], "FUNNEL_LEVEL_ACCOUNT"),
        ),
        case(
            "Funnel unknown account scope and dimension at account level: all at once",
            || {
                funnel(|r| {
                    r.level = pb::FunnelLevel::Account as i32;
                    r.account_scope = 7;
                    r.group_by = vec![42];
                })
            },
            INVALID,
            Fields(&["group_by[0]", "account_scope"]),
        ),
        case(
            "Velocity known_at nanos negative",
            || velocity(|r| r.known_at = ts(1_775_000_000, -5)),
            INVALID,
            Fields(&["known_at"]),
        ),
        case(
            "Cohorts as_of nanos negative",
            || cohorts(|r| r.as_of = ts(1_775_000_000, -5)),
            INVALID,
            Fields(&["as_of"]),
        ),
        case(
            "Reasons as_of nanos past a second",
            || reasons(|r| r.as_of = ts(1_775_000_000, 1_000_000_000)),
            INVALID,
            Fields(&["as_of"]),
        ),
        case(
            "Roi known_at not a valid timestamp",
            || {
                Call::Roi(pb::RoiRequest {
                    tenant_id: T.into(),
                    period_from: ts(1_775_000_000, 0),
                    period_to: ts(1_777_000_000, 0),
                    known_at: ts(1_775_000_000, -3),
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&["known_at"]),
        ),
        case(
            "Funnel consistency token garbage",
            || funnel(|r| r.consistency_token = "ct2:".into()),
            INVALID,
            Fields(&["consistency_token"]),
        ),
        case(
            "Funnel consistency token of the old format (no tenant)",
            || funnel(|r| r.consistency_token = "ct1:some.topic:0@5".into()),
            INVALID,
            FieldsAndMessage(&["consistency_token"], "predates"),
        ),
        case(
            "Funnel consistency token of another tenant",
            || funnel(|r| r.consistency_token = "ct2:globex:some.topic:0@5".into()),
            Code::PermissionDenied,
            Message("another tenant"),
        ),
        case(
            "Velocity unknown and unspecified dimensions",
            || {
                velocity(|r| {
                    r.group_by = vec![
                        pb::LeadDimension::OwnerRep as i32,
                        42,
                        pb::LeadDimension::Unspecified as i32,
                    ]
                })
            },
            INVALID,
            FieldsAndMessage(&["group_by[1]", "group_by[2]"], "42"),
        ),
        case(
            "Velocity window zero, stalled_limit over 1000, at invalid: all at once",
            || {
                velocity(|r| {
                    r.window = days(0);
                    r.stalled_limit = 1001;
                    r.at = ts(1_775_000_000, 1_000_000_000);
                })
            },
            INVALID,
            Fields(&["window", "at", "stalled_limit"]),
        ),
        case(
            "Velocity stalled_stages with an unknown stage",
            || velocity(|r| r.stalled_stages = vec![pb::Stage::Mql as i32, 42]),
            INVALID,
            FieldsAndMessage(&["stalled_stages[1]"], "unknown stage 42"),
        ),
        case(
            "Velocity stalled_stages with a final stage",
            || velocity(|r| r.stalled_stages = vec![pb::Stage::Lost as i32]),
            INVALID,
            FieldsAndMessage(
                &["stalled_stages[0]"],
                "lost is final: a lead never stalls there",
            ),
        ),
        case(
            "Velocity window negative",
            || velocity(|r| r.window = days(-1)),
            INVALID,
            FieldsAndMessage(&["window"], "positive"),
        ),
        case(
            "Velocity window over ten years",
            || velocity(|r| r.window = days(3651)),
            INVALID,
            FieldsAndMessage(&["window"], "3650 days"),
        ),
        case(
            "Velocity window with nanos of the other sign",
            || {
                velocity(|r| {
                    r.window = Some(prost_types::Duration {
                        seconds: 5,
                        nanos: -3,
                    })
                })
            },
            INVALID,
            FieldsAndMessage(&["window"], "not a valid duration"),
        ),
        case(
            "Velocity captured_to not after captured_from",
            || {
                velocity(|r| {
                    r.captured_from = ts(1_775_000_000, 0);
                    r.captured_to = ts(1_775_000_000, 0);
                })
            },
            INVALID,
            FieldsAndMessage(&["captured_to"], "after captured_from"),
        ),
        case(
            "Cohorts unknown period, weeks over 104, unknown dimension: all at once",
            || {
                cohorts(|r| {
                    r.period = 7;
                    r.weeks = 105;
                    r.group_by = vec![99];
                })
            },
            INVALID,
            Fields(&["group_by[0]", "period", "weeks"]),
        ),
        case(
            "Cohorts captured range empty",
            || {
                cohorts(|r| {
                    r.captured_from = ts(1_775_000_000, 0);
                    r.captured_to = ts(1_774_000_000, 0);
                })
            },
            INVALID,
            Fields(&["captured_to"]),
        ),
        case(
            "Reasons unknown dimension, a main-line kind, an exit as reached, list_limit over 1000: all at once",
            || {
                reasons(|r| {
                    r.group_by = vec![99];
                    r.kinds = vec![pb::Stage::Lost as i32, pb::Stage::Sql as i32];
                    r.reached = pb::Stage::Lost as i32;
                    r.list_limit = 1001;
                })
            },
            INVALID,
            Fields(&["group_by[0]", "kinds[1]", "reached", "list_limit"]),
        ),
        case(
            "Reasons unknown kind",
            || reasons(|r| r.kinds = vec![42]),
            INVALID,
            FieldsAndMessage(&["kinds[0]"], "unknown stage 42"),
        ),
        case(
            "Reasons exit range empty",
            || {
                reasons(|r| {
                    r.exited_from = ts(1_775_000_000, 0);
                    r.exited_to = ts(1_774_000_000, 0);
                })
            },
            INVALID,
            FieldsAndMessage(&["exited_to"], "after exited_from"),
        ),
        case(
            "RevenueEquation unknown dimension, a currency that is no ISO code, an empty range: all at once",
            || {
                revenue(|r| {
                    r.group_by = vec![pb::FunnelDimension::Channel as i32, 0];
                    r.currency = "cny".into();
                    r.captured_from = ts(1_775_000_000, 0);
                    r.captured_to = ts(1_775_000_000, 0);
                })
            },
            INVALID,
            Fields(&["group_by[1]", "captured_to", "currency"]),
        ),
        case(
            "RevenueEquation unknown currency",
            || revenue(|r| r.currency = "RMB".into()),
            INVALID,
            FieldsAndMessage(&["currency"], "ISO 4217"),
        ),
        case(
            "Roi without a period, grouped by keyword, in no currency: all at once",
            || {
                Call::Roi(pb::RoiRequest {
                    tenant_id: T.into(),
                    group_by: pb::GroupBy::Keyword as i32,
                    currency: "yuan".into(),
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&["group_by", "period_from", "period_to", "currency"]),
        ),
        case(
            "Roi period ending where it starts, with an unknown model",
            || {
                Call::Roi(pb::RoiRequest {
                    tenant_id: T.into(),
                    period_from: ts(1_775_000_000, 0),
                    period_to: ts(1_775_000_000, 0),
                    model: "nope".into(),
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&["period_to"]),
        ),
        case(
            "Roi with an unknown model",
            || {
                Call::Roi(pb::RoiRequest {
                    tenant_id: T.into(),
                    period_from: ts(1_775_000_000, 0),
                    period_to: ts(1_777_000_000, 0),
                    model: "nope".into(),
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&["model"]),
        ),
        case(
            "a capture with a sealed contact (leadledger seals; clients send `contact`)",
            || {
                cap_with(|c| {
                    c.sealed_contact = Some(pb::SealedContact {
                        key_id: uuid::Uuid::nil().to_string(),
                        ..Default::default()
                    })
                })
            },
            INVALID,
            Fields(&["events[0].payload.lead_captured.sealed_contact"]),
        ),
        case(
            "a client-sent contact_erased (only EraseContact writes it)",
            || one(crm(Payload::ContactErased(pb::ContactErased::default()))),
            INVALID,
            FieldsAndMessage(&["events[0].payload"], "privacy and identity commands"),
        ),
        case(
            "EraseContact without a lead or who asks, a reason over 500 characters, a request id over 128",
            || {
                Call::Erase(pb::EraseContactRequest {
                    tenant_id: T.into(),
                    reason: "r".repeat(501),
                    request_id: "q".repeat(129),
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&["lead_id", "requested_by", "reason", "request_id"]),
        ),
        case(
            "EraseContact of a lead the ledger never captured",
            || {
                Call::Erase(pb::EraseContactRequest {
                    tenant_id: T.into(),
                    lead_id: "L-NEVER".into(),
                    requested_by: "dpo".into(),
                    ..Default::default()
                })
            },
            Code::NotFound,
            Message("no capture"),
        ),
        case(
            "a client-sent account_ownership_requested (only ClaimLead/AssignLead write it)",
            || {
                one(crm(Payload::AccountOwnershipRequested(
                    pb::AccountOwnershipRequested::default(),
                )))
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload"], "ownership"),
        ),
        case(
            "a target account that is free mail, with no tier, a name too long",
            || {
                one(listing(pb::TargetAccountListed {
                    account: "gmail.com".into(),
                    name: "n".repeat(257),
                    ..Default::default()
                }))
            },
            INVALID,
            Fields(&[
                "events[0].payload.target_account_listed.account",
                "events[0].payload.target_account_listed.name",
                "events[0].payload.target_account_listed.tier",
            ]),
        ),
        case(
            "a target account that is a lead on its own, a tier with spaces around it",
            || {
                one(listing(pb::TargetAccountListed {
                    account: "lead:L-1".into(),
                    tier: " KA".into(),
                    ..Default::default()
                }))
            },
            INVALID,
            FieldsAndMessage(
                &[
                    "events[0].payload.target_account_listed.account",
                    "events[0].payload.target_account_listed.tier",
                ],
                "no target account",
            ),
        ),
        case(
            "a target account sent under a lead id",
            || {
                one(pb::Event {
                    lead_id: "L-1".into(),
                    ..listing(pb::TargetAccountListed {
                        account: "acme.com".into(),
                        tier: "KA".into(),
                        ..Default::default()
                    })
                })
            },
            INVALID,
            FieldsAndMessage(&["events[0].lead_id"], "account's key"),
        ),
        case(
            "a coverage of an unknown role by nobody, at free mail",
            || {
                one(pb::Event {
                    payload: Some(Payload::AccountCoverageAssigned(
                        pb::AccountCoverageAssigned {
                            account: "qq.com".into(),
                            role: 9,
                            ..Default::default()
                        },
                    )),
                    ..listing(Default::default())
                })
            },
            INVALID,
            Fields(&[
                "events[0].payload.account_coverage_assigned.account",
                "events[0].payload.account_coverage_assigned.role",
                "events[0].payload.account_coverage_assigned.rep_id",
            ]),
        ),
        case(
            "a renewal with no date and contract, an amount without a currency",
            || {
                one(pb::Event {
                    payload: Some(Payload::RenewalScheduled(pb::RenewalScheduled {
                        account: "account:crm-7".into(),
                        renews_on: "31/03/2027".into(),
                        amount_minor: 100,
                        ..Default::default()
                    })),
                    ..listing(Default::default())
                })
            },
            INVALID,
            Fields(&[
                "events[0].payload.renewal_scheduled.renews_on",
                "events[0].payload.renewal_scheduled.contract_id",
                "events[0].payload.renewal_scheduled.currency",
            ]),
        ),
        case(
            "a renewal before 1900",
            || {
                one(pb::Event {
                    payload: Some(Payload::RenewalScheduled(pb::RenewalScheduled {
                        account: "acme.com".into(),
                        contract_id: "C-1".into(),
                        renews_on: "0999-12-31".into(),
                        ..Default::default()
                    })),
                    ..listing(Default::default())
                })
            },
            INVALID,
            FieldsAndMessage(&["events[0].payload.renewal_scheduled.renews_on"], "1900"),
        ),
        case(
            "a delisting that names an owner",
            || {
                one(listing(pb::TargetAccountListed {
                    account: "account:crm-7".into(),
                    owner_rep_id: "ann".into(),
                    delisted: true,
                    ..Default::default()
                }))
            },
            INVALID,
            Fields(&["events[0].payload.target_account_listed.owner_rep_id"]),
        ),
        case(
            "a fact filed under an account's key by hand",
            || one(event("~account/domain:acme.com", "crm", "x9", at(4, 2, 9), touch_payload())),
            INVALID,
            FieldsAndMessage(&["events[0].lead_id"], "reserved"),
        ),
        case(
            "a client-sent merge_requested (only MergeLeads writes it)",
            || one(crm(Payload::MergeRequested(pb::MergeRequested::default()))),
            INVALID,
            FieldsAndMessage(&["events[0].payload"], "identity commands"),
        ),
        case(
            "MergeLeads without a survivor, leads to merge, who asks or why; a request id over 128",
            || {
                Call::Merge(pb::MergeLeadsRequest {
                    tenant_id: T.into(),
                    request_id: "q".repeat(129),
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&[
                "survivor_id",
                "merged_ids",
                "requested_by",
                "reason",
                "request_id",
            ]),
        ),
        case(
            "MergeLeads of the survivor itself, a repeated id, a `~` id and 101 leads",
            || {
                let mut merged: Vec<String> = vec!["L-1".into(), "L-2".into(), "L-2".into()];
                merged.push("~identity".into());
                merged.extend((0..97).map(|i| format!("L-X{i}")));
                Call::Merge(pb::MergeLeadsRequest {
                    tenant_id: T.into(),
                    survivor_id: "L-1".into(),
                    merged_ids: merged,
                    reason: "dup".into(),
                    requested_by: "ops".into(),
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&[
                "merged_ids",
                "merged_ids[0]",
                "merged_ids[2]",
                "merged_ids[3]",
            ]),
        ),
        case(
            "MergeLeads of a lead the ledger has no fact of",
            || {
                Call::Merge(pb::MergeLeadsRequest {
                    tenant_id: T.into(),
                    survivor_id: "L-NEVER".into(),
                    merged_ids: vec!["L-NEVER-2".into()],
                    reason: "dup".into(),
                    requested_by: "ops".into(),
                    ..Default::default()
                })
            },
            Code::NotFound,
            Message("no fact of lead L-NEVER"),
        ),
        case(
            "UnmergeLead without a lead, who asks or why",
            || {
                Call::Unmerge(pb::UnmergeLeadRequest {
                    tenant_id: T.into(),
                    reason: " ".into(),
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&["lead_id", "requested_by", "reason"]),
        ),
        case(
            "ListDuplicateCandidates with an unknown rule, a score past 1, a foreign page token, a page of 5000, a lead id with a control character",
            || {
                Call::Duplicates(pb::ListDuplicateCandidatesRequest {
                    tenant_id: T.into(),
                    lead_id: "L-\u{7}".into(),
                    rules: vec!["email".into(), "soundex".into()],
                    min_score: 1.01,
                    page_token: "eyJ4IjoxfQ".into(),
                    page_size: 5000,
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&["lead_id", "rules[1]", "min_score", "page_token", "page_size"]),
        ),
        case(
            "ListDuplicateCandidates of a lead the ledger has no fact of",
            || {
                Call::Duplicates(pb::ListDuplicateCandidatesRequest {
                    tenant_id: T.into(),
                    lead_id: "L-NEVER".into(),
                    ..Default::default()
                })
            },
            Code::NotFound,
            Message("no fact of lead L-NEVER"),
        ),
        case(
            "ListDuplicateCandidates with a negative score",
            || {
                Call::Duplicates(pb::ListDuplicateCandidatesRequest {
                    tenant_id: T.into(),
                    min_score: -0.5,
                    ..Default::default()
                })
            },
            INVALID,
            Fields(&["min_score"]),
        ),
        case(
            "GetAccount naming neither an account nor a lead",
            || Call::Account(pb::GetAccountRequest {
                tenant_id: T.into(),
                ..Default::default()
            }),
            INVALID,
            FieldsAndMessage(&["account"], "name an account, or a lead"),
        ),
        case(
            "GetAccount naming an account and a lead",
            || Call::Account(pb::GetAccountRequest {
                tenant_id: T.into(),
                account: "domain:acme.com".into(),
                lead_id: "L-1".into(),
                ..Default::default()
            }),
            INVALID,
            FieldsAndMessage(&["lead_id"], "not both"),
        ),
        case(
            "GetAccount of a free-mail domain, a foreign page token, a page of 5000",
            || Call::Account(pb::GetAccountRequest {
                tenant_id: T.into(),
                account: "domain:qq.com".into(),
                page_token: "%%".into(),
                page_size: 5000,
                ..Default::default()
            }),
            INVALID,
            Fields(&["account", "page_token", "page_size"]),
        ),
        case(
            "GetAccount of a bare domain",
            || Call::Account(pb::GetAccountRequest {
                tenant_id: T.into(),
                account: "acme.com".into(),
                ..Default::default()
            }),
            INVALID,
            FieldsAndMessage(&["account"], "account:<id>, domain:<domain> or lead:<id>"),
        ),
        case(
            "GetAccount of a lead id in a reserved namespace",
            || Call::Account(pb::GetAccountRequest {
                tenant_id: T.into(),
                lead_id: "~visitor/ck-1".into(),
                ..Default::default()
            }),
            INVALID,
            Fields(&["lead_id"]),
        ),
        case(
            "GetAccount of an account nobody is in",
            || Call::Account(pb::GetAccountRequest {
                tenant_id: T.into(),
                account: "domain:nobody.example".into(),
                ..Default::default()
            }),
            Code::NotFound,
            Message("no account domain:nobody.example"),
        ),
        case(
            "GetAccount of a lead the ledger does not have",
            || Call::Account(pb::GetAccountRequest {
                tenant_id: T.into(),
                lead_id: "L-NEVER".into(),
                ..Default::default()
            }),
            Code::NotFound,
            Message("no lead L-NEVER"),
        ),
        case(
            "Velocity consistency token of another tenant",
            || velocity(|r| r.consistency_token = "ct2:globex:some.topic:0@5".into()),
            Code::PermissionDenied,
            Message("another tenant"),
        ),
    ]
}

/// Sends the request; the test wants an error.
async fn send(
    env: &TestEnv,
    ingest: &mut IngestServiceClient<Channel>,
    query: &mut QueryServiceClient<Channel>,
    call: Call,
) -> anyhow::Result<Result<(), tonic::Status>> {
    fn with_tenant<T>(msg: T, tenant: Option<&str>) -> anyhow::Result<tonic::Request<T>> {
        let mut req = tonic::Request::new(msg);
        if let Some(t) = tenant {
            req.metadata_mut().insert("x-tenant-id", t.parse()?);
        }
        Ok(req)
    }
    Ok(match call {
        Call::Append(r, h) => ingest.append(with_tenant(r, h)?).await.map(|_| ()),
        Call::RawAppend(bytes) => raw_unary(env, bytes).await?,
        Call::Capture(r, h) => ingest.capture_lead(with_tenant(*r, h)?).await.map(|_| ()),
        Call::GetLead(r, h) => query.get_lead(with_tenant(r, h)?).await.map(|_| ()),
        Call::ListLeads(r) => query.list_leads(*r).await.map(|_| ()),
        Call::Funnel(r) => query.funnel(r).await.map(|_| ()),
        Call::Velocity(r) => query.velocity(r).await.map(|_| ()),
        Call::Cohorts(r) => query.cohorts(r).await.map(|_| ()),
        Call::Reasons(r) => query.reasons(r).await.map(|_| ()),
        Call::Revenue(r) => query.revenue_equation(r).await.map(|_| ()),
        Call::Attribution(r) => attribution(env).await?.attribution(r).await.map(|_| ()),
        Call::CompareModels(r) => attribution(env).await?.compare_models(r).await.map(|_| ()),
        Call::Roi(r) => attribution(env).await?.roi(r).await.map(|_| ()),
        Call::Erase(r) => {
            leadledger_api::pb::privacy_service_client::PrivacyServiceClient::connect(format!(
                "http://{}",
                env.addr
            ))
            .await?
            .erase_contact(r)
            .await
            .map(|_| ())
        }
        Call::Merge(r) => identity(env).await?.merge_leads(r).await.map(|_| ()),
        Call::Unmerge(r) => identity(env).await?.unmerge_lead(r).await.map(|_| ()),
        Call::Duplicates(r) => identity(env)
            .await?
            .list_duplicate_candidates(r)
            .await
            .map(|_| ()),
        Call::Account(r) => query.get_account(r).await.map(|_| ()),
    })
}

async fn identity(
    env: &TestEnv,
) -> anyhow::Result<leadledger_api::pb::identity_service_client::IdentityServiceClient<Channel>> {
    Ok(
        leadledger_api::pb::identity_service_client::IdentityServiceClient::connect(format!(
            "http://{}",
            env.addr
        ))
        .await?,
    )
}

async fn attribution(
    env: &TestEnv,
) -> anyhow::Result<leadledger_api::pb::attribution_service_client::AttributionServiceClient<Channel>>
{
    Ok(
        leadledger_api::pb::attribution_service_client::AttributionServiceClient::connect(format!(
            "http://{}",
            env.addr
        ))
        .await?,
    )
}

/// Sends already-encoded `AppendRequest` bytes to `IngestService/Append`.
async fn raw_unary(env: &TestEnv, bytes: Vec<u8>) -> anyhow::Result<Result<(), tonic::Status>> {
    use tonic::codegen::http::uri::PathAndQuery;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", env.addr))?
        .connect()
        .await?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await?;
    Ok(grpc
        .unary(
            tonic::Request::new(bytes),
            PathAndQuery::from_static("/leadledger.v1.IngestService/Append"),
            raw::RawCodec,
        )
        .await
        .map(|_| ()))
}

mod raw {
    //! A codec that sends bytes as they are and decodes an `AppendResponse`.
    use leadledger_api::pb;
    use prost::bytes::BufMut;
    use prost::Message;
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
    use tonic::Status;

    pub struct RawCodec;
    pub struct RawEncoder;
    pub struct AppendDecoder;

    impl Codec for RawCodec {
        type Encode = Vec<u8>;
        type Decode = pb::AppendResponse;
        type Encoder = RawEncoder;
        type Decoder = AppendDecoder;
        fn encoder(&mut self) -> RawEncoder {
            RawEncoder
        }
        fn decoder(&mut self) -> AppendDecoder {
            AppendDecoder
        }
    }

    impl Encoder for RawEncoder {
        type Item = Vec<u8>;
        type Error = Status;
        fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
            dst.put_slice(&item);
            Ok(())
        }
    }

    impl Decoder for AppendDecoder {
        type Item = pb::AppendResponse;
        type Error = Status;
        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
            pb::AppendResponse::decode(src)
                .map(Some)
                .map_err(|e| Status::internal(e.to_string()))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_request_is_refused_precisely_and_appends_nothing() -> anyhow::Result<()> {
    let env = TestEnv::start(3).await?;
    let before = env.end_offsets(&env.log.topic)?;
    assert_eq!(before.iter().sum::<i64>(), 0);
    let table = cases();
    assert!(table.len() >= 40, "only {} rows", table.len());
    let mut ingest = env.ingest().await?;
    let mut query = env.query().await?;
    let mut failures = Vec::new();
    for c in &table {
        let got = send(&env, &mut ingest, &mut query, (c.build)()).await?;
        let problem = match got {
            Ok(()) => Some("succeeded".to_string()),
            Err(status) => check(c, &status),
        };
        if let Some(p) = problem {
            failures.push(format!("{}: {p}", c.name));
        }
        let after = env.end_offsets(&env.log.topic)?;
        if after != before {
            failures.push(format!(
                "{}: the log moved from {before:?} to {after:?}",
                c.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );

    // Still healthy: a valid write and a read of it, on the same connections.
    let r = append(&mut ingest, T, vec![cap(), mql("L-1", "m1", at(4, 2, 9))]).await?;
    assert_eq!(r.acks.len(), 2);
    let lead = query
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "L-1".into(),
            consistency_token: r.consistency_token,
        })
        .await?
        .into_inner();
    assert_eq!(lead.lead.unwrap().stage, pb::Stage::Mql as i32);
    assert_eq!(lead.timeline.len(), 2);
    assert_eq!(env.end_offsets(&env.log.topic)?.iter().sum::<i64>(), 2);
    eprintln!("{} malformed requests refused, log unmoved", table.len());
    env.cleanup().await
}

/// What is wrong with `status` for case `c`, if anything.
fn check(c: &Case, status: &tonic::Status) -> Option<String> {
    if status.code() != c.code {
        return Some(format!(
            "code {:?}, want {:?} ({})",
            status.code(),
            c.code,
            status.message()
        ));
    }
    let fields = violation_fields(status);
    let (want_fields, want_message): (Option<&[&str]>, Option<&str>) = match &c.want {
        Want::Fields(f) => (Some(f), None),
        Want::Message(m) => (None, Some(m)),
        Want::FieldsAndMessage(f, m) => (Some(f), Some(m)),
    };
    if let Some(f) = want_fields {
        if fields != f {
            return Some(format!(
                "fields {fields:?}, want {f:?} ({})",
                status.message()
            ));
        }
        // The summary names the first field too.
        if !status.message().contains(f[0]) {
            return Some(format!(
                "message {:?} does not name {}",
                status.message(),
                f[0]
            ));
        }
    }
    if let Some(m) = want_message {
        if !status.message().contains(m) {
            return Some(format!("message {:?} lacks {m:?}", status.message()));
        }
    }
    None
}

fn stream_msg(tenant: &str, e: pb::Event) -> pb::StreamEventsRequest {
    pb::StreamEventsRequest {
        tenant_id: tenant.into(),
        event: Some(e),
    }
}

fn is_ack(r: &pb::StreamEventsResponse) -> bool {
    matches!(r.result, Some(pb::stream_events_response::Result::Ack(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_mid_way_is_acked_and_the_server_stays_healthy() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    let within = Duration::from_secs(20);

    // 1. The client stops sending after two messages (drops its sender): the server acks
    //    both and ends the response stream cleanly.
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let mut responses = ingest
        .stream_events(ReceiverStream::new(rx))
        .await?
        .into_inner();
    tx.send(stream_msg(T, cap())).await?;
    tx.send(stream_msg("", mql("L-1", "m1", at(4, 2, 9))))
        .await?;
    drop(tx);
    let mut got = Vec::new();
    while let Some(r) = tokio::time::timeout(within, responses.message()).await?? {
        got.push(r);
    }
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(is_ack), "{got:?}");
    assert_eq!(got.iter().map(|r| r.sequence).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(env.end_offsets(&env.log.topic)?.iter().sum::<i64>(), 2);

    // 2. The client cuts the call (resets the HTTP/2 stream) while its request side is still
    //    open, after reading the acks of its first two messages; one of them is invalid.
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let mut responses = ingest
        .stream_events(ReceiverStream::new(rx))
        .await?
        .into_inner();
    tx.send(stream_msg(T, accepted("L-1", "a1", at(4, 3, 9), "rep-1")))
        .await?;
    tx.send(pb::StreamEventsRequest {
        tenant_id: String::new(),
        event: None,
    })
    .await?;
    let first = tokio::time::timeout(within, responses.message())
        .await??
        .expect("an answer to the first message");
    let second = tokio::time::timeout(within, responses.message())
        .await??
        .expect("an answer to the second message");
    assert!(is_ack(&first), "{first:?}");
    match &second.result {
        Some(pb::stream_events_response::Result::Error(e)) => {
            assert_eq!(e.code, Code::InvalidArgument as i32);
            assert_eq!(e.violations[0].field, "event");
        }
        other => panic!("expected an error for a message without event, got {other:?}"),
    }
    // The cut: dropping the response stream resets the HTTP/2 stream while the client's
    // request side is still open (`tx` alive).
    drop(responses);
    drop(tx);
    assert_eq!(env.end_offsets(&env.log.topic)?.iter().sum::<i64>(), 3);

    // 3. Still healthy: a new stream, a unary write, a read of everything.
    let mut responses = ingest
        .stream_events(tokio_stream::iter(vec![stream_msg(
            T,
            signed("L-1", "s1", at(5, 1, 9), 5000),
        )]))
        .await?
        .into_inner();
    let ack = responses.message().await?.expect("an ack");
    assert!(is_ack(&ack));
    assert!(responses.message().await?.is_none());
    let r = append(
        &mut ingest,
        T,
        vec![captured("L-2", "c2", at(4, 1, 9), "seo")],
    )
    .await?;
    let mut query = env.query().await?;
    let lead = query
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "L-1".into(),
            consistency_token: ack.consistency_token,
        })
        .await?
        .into_inner();
    let state = lead.lead.unwrap();
    assert_eq!(state.stage, pb::Stage::Signed as i32);
    assert_eq!(state.event_count, 4, "captured, mql, accepted, signed");
    let l2 = query
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "L-2".into(),
            consistency_token: r.consistency_token,
        })
        .await?
        .into_inner();
    assert_eq!(l2.lead.unwrap().stage, pb::Stage::Captured as i32);
    assert_eq!(env.end_offsets(&env.log.topic)?.iter().sum::<i64>(), 5);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_stream_completes_with_no_responses() -> anyhow::Result<()> {
    let env = TestEnv::start(1).await?;
    let mut ingest = env.ingest().await?;
    let mut responses = ingest
        .stream_events(tokio_stream::iter(Vec::<pb::StreamEventsRequest>::new()))
        .await?
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(10), responses.message()).await??;
    assert!(first.is_none(), "{first:?}");
    // And the trailers said OK (message() would have returned the error otherwise).
    assert_eq!(env.end_offsets(&env.log.topic)?, [0]);
    env.cleanup().await
}
