//! Validation rules: table-driven mutations of a valid event, each with the exact field path
//! of the violation it must produce.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use leadledger_domain::event::{Contact, Owner, PocOutcome};
use leadledger_domain::validate::{
    self, earliest_time, is_currency, is_domain, is_email, max_future, MAX_AMOUNT_MINOR,
};
use leadledger_domain::{Event, Payload, Stage, Violations};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0).unwrap()
}

/// A valid capture, the base every row mutates.
fn valid() -> Event {
    ev(1, at(14, 9), captured("website"))
}

fn fields(v: &Violations) -> Vec<&str> {
    v.0.iter().map(|f| f.field.as_str()).collect()
}

fn contact(e: &mut Event) -> &mut Contact {
    match &mut e.payload {
        Payload::LeadCaptured(c) => &mut c.contact,
        p => panic!("not a capture: {p:?}"),
    }
}

fn company(e: &mut Event) -> &mut leadledger_domain::event::Company {
    match &mut e.payload {
        Payload::LeadCaptured(c) => &mut c.company,
        p => panic!("not a capture: {p:?}"),
    }
}

fn source(e: &mut Event) -> &mut leadledger_domain::event::LeadSource {
    match &mut e.payload {
        Payload::LeadCaptured(c) => &mut c.source,
        p => panic!("not a capture: {p:?}"),
    }
}

fn chars(n: usize) -> String {
    "x".repeat(n)
}

type Mutation = fn(&mut Event);
type Row = (&'static str, Mutation, &'static str);

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // Envelope.
    ("missing tenant id", |e| e.tenant_id.clear(), "tenant_id"),
    ("tenant id with a space", |e| e.tenant_id = "acme corp".into(), "tenant_id"),
    ("tenant id of 65 chars", |e| e.tenant_id = chars(65), "tenant_id"),
    ("tenant id with a slash", |e| e.tenant_id = "acme/cn".into(), "tenant_id"),
    ("missing lead id", |e| e.lead_id.clear(), "lead_id"),
    ("lead id of 129 chars", |e| e.lead_id = chars(129), "lead_id"),
    ("blank lead id", |e| e.lead_id = "   ".into(), "lead_id"),
    ("lead id with a NUL", |e| e.lead_id = "lead\u{0}1".into(), "lead_id"),
    ("lead id with a unit separator", |e| e.lead_id = "lead\u{1f}1".into(), "lead_id"),
    ("missing source system", |e| e.source.system.clear(), "source.system"),
    ("source system with a space", |e| e.source.system = "hub spot".into(), "source.system"),
    ("source system of 65 chars", |e| e.source.system = chars(65), "source.system"),
    ("source event id of 257 chars", |e| e.source.event_id = chars(257), "source.event_id"),
    ("occurred before 2000", |e| e.occurred_at = earliest_time() - Duration::seconds(1), "occurred_at"),
    ("occurred in 1970", |e| e.occurred_at = DateTime::UNIX_EPOCH, "occurred_at"),
    ("occurred more than 24h ahead", |e| e.occurred_at = now() + Duration::hours(24) + Duration::seconds(1), "occurred_at"),
    ("occurred a year ahead", |e| e.occurred_at = now() + Duration::days(365), "occurred_at"),
    ("schema version 2", |e| e.schema_version = 2, "schema_version"),
    // Captured: contact.
    ("control character in a name", |e| contact(e).name = "Li\u{7}Wei".into(), "payload.lead_captured.contact.name"),
    ("name of 201 chars", |e| contact(e).name = chars(201), "payload.lead_captured.contact.name"),
    ("escape in a title", |e| contact(e).title = "CIO\u{1b}[0m".into(), "payload.lead_captured.contact.title"),
    ("email without @", |e| contact(e).email = "li.wei.example.com".into(), "payload.lead_captured.contact.email"),
    ("email without domain", |e| contact(e).email = "li.wei@".into(), "payload.lead_captured.contact.email"),
    ("email without local part", |e| contact(e).email = "@example.com".into(), "payload.lead_captured.contact.email"),
    ("email with single-label domain", |e| contact(e).email = "li@localhost".into(), "payload.lead_captured.contact.email"),
    ("email with a space", |e| contact(e).email = "li wei@example.com".into(), "payload.lead_captured.contact.email"),
    ("email with two @", |e| contact(e).email = "li@wei@example.com".into(), "payload.lead_captured.contact.email"),
    ("email with trailing dot", |e| contact(e).email = "li@example.com.".into(), "payload.lead_captured.contact.email"),
    ("email with numeric tld", |e| contact(e).email = "li@example.c0m".into(), "payload.lead_captured.contact.email"),
    ("email with 65-char local part", |e| contact(e).email = format!("{}@example.com", chars(65)), "payload.lead_captured.contact.email"),
    ("neither email nor phone", |e| { contact(e).email.clear(); contact(e).phone.clear() }, "payload.lead_captured.contact"),
    ("phone with letters", |e| contact(e).phone = "call 138".into(), "payload.lead_captured.contact.phone"),
    ("phone with 4 digits", |e| contact(e).phone = "+1-234".into(), "payload.lead_captured.contact.phone"),
    ("phone of 33 chars", |e| contact(e).phone = "1".repeat(33), "payload.lead_captured.contact.phone"),
    ("phone of only spaces", |e| contact(e).phone = "     ".into(), "payload.lead_captured.contact.phone"),
    ("phone with an extension mark", |e| contact(e).phone = "010-5555-0000 ext. 12".into(), "payload.lead_captured.contact.phone"),
    // Captured: company.
    ("single-label domain", |e| company(e).domain = "example".into(), "payload.lead_captured.company.domain"),
    ("domain with leading hyphen", |e| company(e).domain = "-example.com".into(), "payload.lead_captured.company.domain"),
    ("domain with an underscore", |e| company(e).domain = "ex_ample.com".into(), "payload.lead_captured.company.domain"),
    ("domain that is a URL", |e| company(e).domain = "https://example.com".into(), "payload.lead_captured.company.domain"),
    ("domain with empty label", |e| company(e).domain = "example..com".into(), "payload.lead_captured.company.domain"),
    ("company name of 201 chars", |e| company(e).name = chars(201), "payload.lead_captured.company.name"),
    ("region of 65 chars", |e| company(e).region = chars(65), "payload.lead_captured.company.region"),
    ("industry with a BEL", |e| company(e).industry = "retail\u{7}".into(), "payload.lead_captured.company.industry"),
    // Captured: source.
    ("uppercase channel", |e| source(e).channel = "Website".into(), "payload.lead_captured.source.channel"),
    ("channel with a space", |e| source(e).channel = "trade show".into(), "payload.lead_captured.source.channel"),
    ("channel with a dot", |e| source(e).channel = "web.site".into(), "payload.lead_captured.source.channel"),
    ("missing channel", |e| source(e).channel.clear(), "payload.lead_captured.source.channel"),
    ("channel of 65 chars", |e| source(e).channel = chars(65), "payload.lead_captured.source.channel"),
    ("utm_campaign of 201 chars", |e| source(e).utm_campaign = chars(201), "payload.lead_captured.source.utm_campaign"),
    ("landing page of 2049 chars", |e| source(e).landing_page = chars(2049), "payload.lead_captured.source.landing_page"),
    ("offline activity id of 129 chars", |e| source(e).offline_activity_id = chars(129), "payload.lead_captured.source.offline_activity_id"),
    // Other payloads.
    ("touch channel uppercase", |e| e.payload = Payload::TouchRecorded(leadledger_domain::event::TouchRecorded { channel: "Webinar".into(), ..Default::default() }), "payload.touch_recorded.channel"),
    ("touch without channel", |e| e.payload = Payload::TouchRecorded(Default::default()), "payload.touch_recorded.channel"),
    ("MQL score 1001", |e| e.payload = mql(1001), "payload.mql_qualified.score"),
    ("MQL reason of 1001 chars", |e| e.payload = Payload::MqlQualified { score: 1, reason: chars(1001) }, "payload.mql_qualified.reason"),
    ("handoff all empty", |e| e.payload = Payload::HandedOff(Owner::default()), "payload.handed_off"),
    ("handoff rep id of 129 chars", |e| e.payload = handed_off("east", &chars(129)), "payload.handed_off.rep_id"),
    ("accepted rep id with control char", |e| e.payload = accepted("rep\u{8}7"), "payload.sales_accepted.rep_id"),
    ("rejected without a reason code", |e| e.payload = Payload::SalesRejected { reason: 0, text: String::new(), rep_id: String::new() }, "payload.sales_rejected.reason"),
    ("follow-up without an activity type", |e| e.payload = Payload::FollowUpLogged { activity_type: 0, rep_id: String::new(), note: String::new() }, "payload.follow_up_logged.activity_type"),
    ("rejected text of 1001 chars", |e| e.payload = Payload::SalesRejected { reason: 1, text: chars(1001), rep_id: String::new() }, "payload.sales_rejected.text"),
    ("follow-up note of 4001 chars", |e| e.payload = follow_up(&chars(4001)), "payload.follow_up_logged.note"),
    ("feedback stage None", |e| e.payload = Payload::FeedbackRecorded(Default::default()), "payload.feedback_recorded.stage"),
    ("feedback risks of 4001 chars", |e| { let mut f = feedback(Stage::Sql); if let Payload::FeedbackRecorded(fb) = &mut f { fb.risks = chars(4001) } e.payload = f }, "payload.feedback_recorded.risks"),
    ("poc use case of 1001 chars", |e| e.payload = Payload::PocStarted { owner_id: "se-1".into(), use_case: chars(1001) }, "payload.poc_started.use_case"),
    ("poc outcome None", |e| e.payload = Payload::PocCompleted { outcome: None, notes: String::new() }, "payload.poc_completed.outcome"),
    ("amount 0", |e| e.payload = signed(0, "CNY"), "payload.signed.amount_minor"),
    ("amount negative", |e| e.payload = signed(-100, "CNY"), "payload.signed.amount_minor"),
    ("amount i64::MIN", |e| e.payload = signed(i64::MIN, "CNY"), "payload.signed.amount_minor"),
    ("amount over 10^15", |e| e.payload = signed(MAX_AMOUNT_MINOR + 1, "CNY"), "payload.signed.amount_minor"),
    ("currency lower case", |e| e.payload = signed(100, "cny"), "payload.signed.currency"),
    ("currency XXX", |e| e.payload = signed(100, "XXX"), "payload.signed.currency"),
    ("currency empty", |e| e.payload = signed(100, ""), "payload.signed.currency"),
    ("currency two letters", |e| e.payload = signed(100, "CN"), "payload.signed.currency"),
    ("currency RMB (not ISO)", |e| e.payload = signed(100, "RMB"), "payload.signed.currency"),
    ("contract id of 129 chars", |e| e.payload = Payload::Signed { amount_minor: 1, currency: "USD".into(), contract_id: chars(129) }, "payload.signed.contract_id"),
    ("payment amount 0", |e| e.payload = payment(0, "CNY"), "payload.payment_collected.amount_minor"),
    ("payment amount negative", |e| e.payload = payment(-1, "CNY"), "payload.payment_collected.amount_minor"),
    ("payment amount over 10^15", |e| e.payload = payment(MAX_AMOUNT_MINOR + 1, "CNY"), "payload.payment_collected.amount_minor"),
    ("payment currency RMB", |e| e.payload = payment(100, "RMB"), "payload.payment_collected.currency"),
    ("payment currency empty", |e| e.payload = payment(100, ""), "payload.payment_collected.currency"),
    ("payment id of 129 chars", |e| e.payload = Payload::PaymentCollected { amount_minor: 1, currency: "CNY".into(), payment_id: chars(129), contract_id: String::new() }, "payload.payment_collected.payment_id"),
    ("payment contract id with control char", |e| e.payload = Payload::PaymentCollected { amount_minor: 1, currency: "CNY".into(), payment_id: String::new(), contract_id: "C\u{7}1".into() }, "payload.payment_collected.contract_id"),
    ("lost reason empty", |e| e.payload = Payload::Lost { reason: String::new(), competitor: String::new(), code: 0, rep_id: String::new() }, "payload.lost.reason"),
    ("lost reason whitespace", |e| e.payload = Payload::Lost { reason: " \t ".into(), competitor: String::new(), code: 0, rep_id: String::new() }, "payload.lost.reason"),
    ("lost reason of 1001 chars", |e| e.payload = Payload::Lost { reason: chars(1001), competitor: String::new(), code: 0, rep_id: String::new() }, "payload.lost.reason"),
    ("lost competitor of 201 chars", |e| e.payload = Payload::Lost { reason: "price".into(), competitor: chars(201), code: 0, rep_id: String::new() }, "payload.lost.competitor"),
    ("recycled reason empty", |e| e.payload = Payload::Recycled { reason: String::new(), code: 0, rep_id: String::new() }, "payload.recycled.reason"),
    ("recycled reason whitespace", |e| e.payload = Payload::Recycled { reason: "\n  \r\n".into(), code: 0, rep_id: String::new() }, "payload.recycled.reason"),
    ("disqualified reason empty", |e| e.payload = Payload::Disqualified { reason: String::new(), code: 0, rep_id: String::new() }, "payload.disqualified.reason"),
    ("disqualified reason whitespace", |e| e.payload = Payload::Disqualified { reason: "   ".into(), code: 0, rep_id: String::new() }, "payload.disqualified.reason"),
    ("disqualified reason full-width space", |e| e.payload = Payload::Disqualified { reason: "\u{3000}".into(), code: 0, rep_id: String::new() }, "payload.disqualified.reason"),
    ("unknown payload", |e| e.payload = unknown("meeting_booked"), "payload"),
];

#[test]
fn each_mutation_reports_exactly_its_field() {
    assert!(ROWS.len() >= 25);
    let mut failures = Vec::new();
    for &(name, mutate, field) in ROWS {
        let mut e = valid();
        mutate(&mut e);
        let v = validate::event(&e, now());
        if fields(&v) != [field] {
            failures.push(format!("{name}: expected [{field}], got {:?}", v.0));
        }
        assert!(v.0.iter().all(|f| !f.description.is_empty()), "{name}");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[rustfmt::skip]
const VALID_ROWS: &[(&str, Mutation)] = &[
    ("unchanged", |_| {}),
    ("occurred exactly now + 24h", |e| e.occurred_at = now() + max_future()),
    ("occurred exactly 2000-01-01", |e| e.occurred_at = earliest_time()),
    ("occurred now", |e| e.occurred_at = now()),
    ("schema version 0 (normalised by the API)", |e| e.schema_version = 0),
    ("tenant id of 64 chars", |e| e.tenant_id = chars(64)),
    ("tenant id with _ . -", |e| e.tenant_id = "acme_cn.east-1".into()),
    ("lead id of 128 chars", |e| e.lead_id = chars(128)),
    ("lead id of 128 CJK chars", |e| e.lead_id = "线".repeat(128)),
    ("source system with upper case", |e| e.source.system = "HubSpot".into()),
    ("empty source event id", |e| e.source.event_id.clear()),
    ("phone only", |e| contact(e).email.clear()),
    ("email only", |e| contact(e).phone.clear()),
    ("phone with punctuation", |e| contact(e).phone = "+86 (21) 5555-0000".into()),
    ("phone of 5 digits", |e| contact(e).phone = "12345".into()),
    ("phone of 32 chars", |e| contact(e).phone = "1".repeat(32)),
    ("email with plus and subdomain", |e| contact(e).email = "li.wei+crm@mail.example.com.cn".into()),
    ("unicode email", |e| contact(e).email = "张@例子.中国".into()),
    ("name of 200 CJK chars", |e| contact(e).name = "张".repeat(200)),
    ("no company domain", |e| company(e).domain.clear()),
    ("unicode company domain", |e| company(e).domain = "例子.中国".into()),
    ("channel with digits _ -", |e| source(e).channel = "trade-show_2026".into()),
    ("landing page of 2048 chars", |e| source(e).landing_page = chars(2048)),
    ("MQL score 1000", |e| e.payload = mql(1000)),
    ("MQL score 0", |e| e.payload = mql(0)),
    ("handoff to a partner only", |e| e.payload = Payload::HandedOff(Owner { partner_id: "p-1".into(), ..Owner::default() })),
    ("accepted without rep", |e| e.payload = accepted("")),
    ("amount 1", |e| e.payload = signed(1, "CNY")),
    ("amount exactly 10^15", |e| e.payload = signed(MAX_AMOUNT_MINOR, "USD")),
    ("note of 4000 chars", |e| e.payload = follow_up(&chars(4000))),
    ("note with newline, tab and CR", |e| e.payload = follow_up("line 1\r\n\tline 2")),
    ("lost reason with surrounding spaces", |e| e.payload = Payload::Lost { reason: "  price  ".into(), competitor: String::new(), code: 0, rep_id: String::new() }),
    ("poc abandoned without notes", |e| e.payload = Payload::PocCompleted { outcome: Some(PocOutcome::Abandoned), notes: String::new() }),
];

#[test]
fn boundary_values_are_accepted() {
    let mut failures = Vec::new();
    for &(name, mutate) in VALID_ROWS {
        let mut e = valid();
        mutate(&mut e);
        let v = validate::event(&e, now());
        if !v.is_empty() {
            failures.push(format!("{name}: {:?}", v.0));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_valid_event_of_every_payload_kind_has_no_violation() {
    let payloads = every_valid_payload();
    assert_eq!(payloads.len(), 15);
    for (i, p) in payloads.into_iter().enumerate() {
        let e = ev(i as u128 + 1, at(14, 9), p);
        let v = validate::event(&e, now());
        assert!(v.is_empty(), "{}: {:?}", e.payload.event_type(), v.0);
    }
}

#[test]
fn every_violation_is_reported_in_field_order() {
    let mut e = valid();
    e.tenant_id.clear();
    e.lead_id.clear();
    e.source.system.clear();
    e.occurred_at = now() + Duration::days(2);
    e.schema_version = 3;
    contact(&mut e).email = "nope".into();
    contact(&mut e).phone = "x".into();
    source(&mut e).channel = "Web".into();
    let v = validate::event(&e, now());
    assert_eq!(
        fields(&v),
        [
            "tenant_id",
            "lead_id",
            "source.system",
            "occurred_at",
            "schema_version",
            "payload.lead_captured.contact.email",
            "payload.lead_captured.contact.phone",
            "payload.lead_captured.source.channel",
        ]
    );
    assert_eq!(v.len(), 8);
}

#[test]
fn violation_descriptions_name_the_rule() {
    let mut e = valid();
    e.lead_id = chars(129);
    let v = validate::event(&e, now());
    assert_eq!(
        v.0[0].description,
        "must be at most 128 characters (got 129)"
    );

    let mut e = valid();
    e.lead_id.clear();
    assert_eq!(validate::event(&e, now()).0[0].description, "required");

    let mut e = valid();
    e.payload = Payload::Recycled {
        reason: "  ".into(),
        code: 0,
        rep_id: String::new(),
    };
    assert_eq!(
        validate::event(&e, now()).0[0].description,
        "required when code is unspecified"
    );
}

#[test]
fn violations_can_be_prefixed_into_a_batch() {
    let mut e = valid();
    e.payload = signed(0, "cny");
    let mut batch = Violations::default();
    assert!(batch.is_empty());
    batch.extend_prefixed("events[3]", validate::event(&e, now()));
    batch.extend_prefixed("events[4]", validate::event(&valid(), now()));
    assert_eq!(
        fields(&batch),
        [
            "events[3].payload.signed.amount_minor",
            "events[3].payload.signed.currency"
        ]
    );
    assert_eq!(batch.len(), 2);
    let mut alone = Violations::default();
    alone.extend_prefixed("", validate::event(&e, now()));
    assert_eq!(
        fields(&alone),
        ["payload.signed.amount_minor", "payload.signed.currency"]
    );
}

#[test]
fn tenant_and_lead_id_checks_use_the_given_field() {
    let mut v = Violations::default();
    validate::tenant_id(&mut v, "filter.tenant", "acme");
    validate::lead_id(&mut v, "filter.lead", "lead-1");
    assert!(v.is_empty());
    validate::tenant_id(&mut v, "filter.tenant", "");
    validate::tenant_id(&mut v, "filter.tenant", "租户");
    validate::lead_id(&mut v, "filter.lead", "");
    validate::lead_id(&mut v, "filter.lead", &chars(129));
    assert_eq!(
        fields(&v),
        [
            "filter.tenant",
            "filter.tenant",
            "filter.lead",
            "filter.lead"
        ]
    );
}

#[test]
fn is_email_edge_cases() {
    for ok in [
        "a@b.co",
        "A@B.CO",
        "li.wei+crm@example.com.cn",
        "first_last-1@sub.example.org",
        "张@例子.中国",
        "x@a-b.io",
        &format!("{}@example.com", chars(64)),
    ] {
        assert!(is_email(ok), "{ok}");
    }
    for bad in [
        "",
        "a",
        "a@",
        "@b.co",
        "a@b",
        "a b@c.co",
        "a@b .co",
        " a@b.co",
        "a@b.co\n",
        "a@b.c0",
        "a@-b.co",
        "a@b-.co",
        "a@b..co",
        "a@.b.co",
        "a@b.co.",
        "a@@b.co",
        "a@b@c.co",
        "a@b_c.co",
        "a@b.co/path",
        &format!("{}@example.com", chars(65)),
        // 255 characters in all.
        &format!(
            "a@{}.com",
            [
                "b".repeat(63),
                "c".repeat(63),
                "d".repeat(63),
                "e".repeat(57)
            ]
            .join(".")
        ),
    ] {
        assert!(!is_email(bad), "{bad:?}");
    }
}

#[test]
fn is_domain_edge_cases() {
    for ok in [
        "example.com",
        "a.b",
        "EXAMPLE.COM",
        "sub-1.example.co.uk",
        "xn--fiqs8s.cn",
        "例子.中国",
        &format!("{}.com", chars(63)),
    ] {
        assert!(is_domain(ok), "{ok}");
    }
    for bad in [
        "",
        ".",
        "com",
        ".example.com",
        "example.com.",
        "example..com",
        "-example.com",
        "example-.com",
        "exa mple.com",
        "exa_mple.com",
        "example.c0m",
        "example.123",
        "192.168.0.1",
        "example.com:8080",
        &format!("{}.com", chars(64)),
        // 254 characters.
        &[chars(63), chars(63), chars(63), chars(62)].join("."),
    ] {
        assert!(!is_domain(bad), "{bad:?}");
    }
    // 253 characters is the longest accepted.
    assert!(is_domain(
        &[chars(63), chars(63), chars(63), chars(61)].join(".")
    ));
}

#[test]
fn is_domain_accepts_punycode_tlds() {
    assert!(is_domain("例子.中国"));
    assert!(is_domain("example.xn--fiqs8s"));
    assert!(is_email("sales@example.xn--55qx5d"));
}

#[test]
fn is_currency_edge_cases() {
    for ok in ["CNY", "USD", "EUR", "JPY", "HKD", "AED", "ZWG"] {
        assert!(is_currency(ok), "{ok}");
    }
    for bad in ["", "cny", "Cny", "XXX", "RMB", "CN", "CNYY", " CNY", "CNY "] {
        assert!(!is_currency(bad), "{bad:?}");
    }
}
