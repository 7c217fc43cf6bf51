//! Validation rules for everything a user can get wrong, reported as field violations.
//!
//! Rules never read the clock: the caller passes `now`. A violation names the field by its
//! path in the request (`events[3].payload.signed.currency`) so a client can point at it.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::event::{Company, Contact, Event, LeadSource, Payload};
use crate::stage::Stage;

/// Most events one `Append` may carry.
pub const MAX_BATCH: usize = 500;
/// Largest signed amount accepted, in minor units (10^15: a thousand billion in major units).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

const SHORT: usize = 200;
const ID: usize = 128;
const TEXT: usize = 1_000;
const NOTE: usize = 4_000;
const URL: usize = 2_048;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Collects violations under a path prefix.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(pub Vec<FieldViolation>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Appends another collection, prefixing each path with `prefix.` (an empty prefix
    /// leaves the paths as they are).
    pub fn extend_prefixed(&mut self, prefix: &str, other: Violations) {
        if prefix.is_empty() {
            self.0.extend(other.0);
            return;
        }
        for v in other.0 {
            self.add(format!("{prefix}.{}", v.field), v.description);
        }
    }
}

/// The earliest business time accepted.
pub fn earliest_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap()
}

/// How far in the future a business time may be (clock skew between systems).
pub fn max_future() -> Duration {
    Duration::hours(24)
}

/// Checks a tenant id: 1..64 characters of `[A-Za-z0-9_.-]`.
pub fn tenant_id(v: &mut Violations, field: &str, t: &str) {
    if t.is_empty() {
        v.add(field, "required");
    } else if t.len() > 64
        || !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        v.add(field, "must be 1..64 characters of A-Z a-z 0-9 _ . -");
    }
}

/// Checks a lead id: 1..128 characters, not blank, no control characters.
pub fn lead_id(v: &mut Violations, field: &str, id: &str) {
    if id.trim().is_empty() {
        v.add(field, "required");
    } else {
        text(v, field, id, ID);
    }
}

mod account;
mod commands;
mod visitor;
pub use commands::{erasure, lead_ref, merge, unmerge, MAX_ERASURE_REASON, MAX_MERGE_REASON};

/// Checks one event (already decoded from the wire) at `now`.
pub fn event(e: &Event, now: DateTime<Utc>) -> Violations {
    let mut v = Violations::default();
    tenant_id(&mut v, "tenant_id", &e.tenant_id);
    // A visitor's fact is checked as the visitor's (its key stands in the lead id).
    let visitor = crate::identity::visitor::is_visitor(&e.lead_id);
    // An account's fact likewise (its key is checked with its payload).
    let account_fact = e.payload.is_account();
    if !visitor && !account_fact {
        lead_id(&mut v, "lead_id", &e.lead_id);
    }
    visitor::event(&mut v, e);
    if e.source.system.is_empty() {
        v.add("source.system", "required");
    } else if e.source.system.len() > 64
        || !e
            .source
            .system
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        v.add(
            "source.system",
            "must be 1..64 characters of A-Z a-z 0-9 _ . -",
        );
    }
    text(&mut v, "source.event_id", &e.source.event_id, 256);
    if e.occurred_at < earliest_time() {
        v.add("occurred_at", "must not be before 2000-01-01T00:00:00Z");
    } else if e.occurred_at > now + max_future() {
        v.add(
            "occurred_at",
            "must not be more than 24 hours in the future",
        );
    }
    // Clients speak version 1; version 2 (a sealed capture) is written by ingest itself.
    if e.schema_version > crate::event::FIRST_SCHEMA_VERSION {
        v.add(
            "schema_version",
            format!(
                "unknown schema version; clients write version {} (version 2 is a capture \
                 leadledger sealed)",
                crate::event::FIRST_SCHEMA_VERSION
            ),
        );
    }
    // Spend is filed under its own key; no lead id may look like one.
    let spend_key = match &e.payload {
        Payload::SpendRecorded(s) => Some(crate::spend::key(&s.channel, &s.campaign)),
        _ => None,
    };
    match spend_key {
        Some(key) if e.lead_id != key => v.add(
            "lead_id",
            "must be empty for spend_recorded (the server files it under the spend's key)",
        ),
        None if e.lead_id.starts_with('~') && !visitor && !account_fact => {
            v.add(
                "lead_id",
                "must not start with `~` (reserved for spend, visitors and accounts)",
            );
        }
        _ => {}
    }
    payload(&mut v, &e.payload);
    account::self_referral(&mut v, e);
    account::filed_under_account(&mut v, e);
    v
}

fn payload(v: &mut Violations, p: &Payload) {
    match p {
        Payload::LeadCaptured(c) => {
            let f = "payload.lead_captured";
            if c.sealed.is_some() {
                v.add(
                    format!("{f}.sealed_contact"),
                    "set by leadledger only: send the contact in `contact`",
                );
            }
            contact(v, &format!("{f}.contact"), &c.contact);
            company(v, &format!("{f}.company"), &c.company);
            source(v, &format!("{f}.source"), &c.source);
        }
        Payload::TouchRecorded(t) => {
            let f = "payload.touch_recorded";
            slug(v, &format!("{f}.channel"), &t.channel, true);
            text(v, &format!("{f}.campaign"), &t.campaign, SHORT);
            text(v, &format!("{f}.content_id"), &t.content_id, SHORT);
            text(v, &format!("{f}.keyword"), &t.keyword, SHORT);
        }
        Payload::MqlQualified { score, reason } => {
            if *score > 1000 {
                v.add("payload.mql_qualified.score", "must be 0..1000");
            }
            text(v, "payload.mql_qualified.reason", reason, TEXT);
        }
        Payload::HandedOff(o) => {
            let f = "payload.handed_off";
            if o.is_empty() {
                v.add(f, "one of team, queue, rep_id or partner_id is required");
            }
            text(v, &format!("{f}.team"), &o.team, ID);
            text(v, &format!("{f}.queue"), &o.queue, ID);
            text(v, &format!("{f}.rep_id"), &o.rep_id, ID);
            text(v, &format!("{f}.partner_id"), &o.partner_id, ID);
        }
        Payload::SalesAccepted { rep_id } => text(v, "payload.sales_accepted.rep_id", rep_id, ID),
        Payload::SalesRejected {
            reason,
            text: t,
            rep_id,
        } => {
            if *reason == 0 {
                v.add("payload.sales_rejected.reason", "required");
            }
            text(v, "payload.sales_rejected.text", t, TEXT);
            text(v, "payload.sales_rejected.rep_id", rep_id, ID);
        }
        Payload::FollowUpLogged {
            activity_type,
            rep_id,
            note,
        } => {
            if *activity_type == 0 {
                v.add("payload.follow_up_logged.activity_type", "required");
            }
            text(v, "payload.follow_up_logged.rep_id", rep_id, ID);
            text(v, "payload.follow_up_logged.note", note, NOTE);
        }
        Payload::FeedbackRecorded(fb) => {
            let f = "payload.feedback_recorded";
            if fb.stage.is_none() {
                v.add(format!("{f}.stage"), "required");
            }
            text(v, &format!("{f}.rep_id"), &fb.rep_id, ID);
            for (name, value) in [
                ("business_situation", &fb.business_situation),
                ("trigger", &fb.trigger),
                ("timeline", &fb.timeline),
                ("risks", &fb.risks),
                ("competitors", &fb.competitors),
                ("progress", &fb.progress),
                ("commercial", &fb.commercial),
            ] {
                text(v, &format!("{f}.{name}"), value, NOTE);
            }
        }
        Payload::PocStarted { owner_id, use_case } => {
            text(v, "payload.poc_started.owner_id", owner_id, ID);
            text(v, "payload.poc_started.use_case", use_case, TEXT);
        }
        Payload::PocCompleted { outcome, notes } => {
            if outcome.is_none() {
                v.add("payload.poc_completed.outcome", "required");
            }
            text(v, "payload.poc_completed.notes", notes, NOTE);
        }
        Payload::Signed {
            amount_minor,
            currency,
            contract_id,
        } => {
            money(
                v,
                "payload.signed",
                *amount_minor,
                currency,
                Amount::Positive,
            );
            text(v, "payload.signed.contract_id", contract_id, ID);
        }
        Payload::SpendRecorded(s) => {
            let f = "payload.spend_recorded";
            slug(v, &format!("{f}.channel"), &s.channel, true);
            text(v, &format!("{f}.campaign"), &s.campaign, ID);
            let unparsed = chrono::NaiveDate::MIN;
            if s.period_start == unparsed || s.period_end == unparsed {
                // Reported where the dates were read.
            } else if s.period_end < s.period_start {
                v.add(format!("{f}.period_end"), "must not be before period_start");
            } else if s.days() > crate::spend::MAX_PERIOD_DAYS {
                v.add(
                    format!("{f}.period_end"),
                    "at most 366 days after period_start",
                );
            }
            money(v, f, s.amount_minor, &s.currency, Amount::ZeroOrMore);
        }
        Payload::PaymentCollected {
            amount_minor,
            currency,
            payment_id,
            contract_id,
        } => {
            let f = "payload.payment_collected";
            money(v, f, *amount_minor, currency, Amount::Positive);
            text(v, &format!("{f}.payment_id"), payment_id, ID);
            text(v, &format!("{f}.contract_id"), contract_id, ID);
        }
        Payload::Lost {
            reason,
            competitor,
            code,
            rep_id,
        } => {
            exit_reason(v, "payload.lost", Stage::Lost, *code, reason, rep_id);
            text(v, "payload.lost.competitor", competitor, SHORT);
        }
        Payload::Recycled {
            reason,
            code,
            rep_id,
        } => exit_reason(
            v,
            "payload.recycled",
            Stage::Recycled,
            *code,
            reason,
            rep_id,
        ),
        Payload::Disqualified {
            reason,
            code,
            rep_id,
        } => exit_reason(
            v,
            "payload.disqualified",
            Stage::Disqualified,
            *code,
            reason,
            rep_id,
        ),
        Payload::ClockPaused(p) => {
            let f = "payload.clock_paused";
            match crate::reason::PAUSED.get(usize::try_from(p.reason).unwrap_or(usize::MAX)) {
                None => v.add(format!("{f}.reason"), format!("unknown code {}", p.reason)),
                Some(&"unspecified") => v.add(format!("{f}.reason"), "required"),
                Some(&"other") if p.note.trim().is_empty() => {
                    v.add(format!("{f}.note"), "required when reason is other")
                }
                Some(_) => {}
            }
            text(v, &format!("{f}.note"), &p.note, NOTE);
            text(v, &format!("{f}.by"), &p.by, ID);
            policy_ids(v, &format!("{f}.policy_ids"), &p.policy_ids);
        }
        Payload::ClockResumed(r) => {
            let f = "payload.clock_resumed";
            text(v, &format!("{f}.note"), &r.note, NOTE);
            text(v, &format!("{f}.by"), &r.by, ID);
            policy_ids(v, &format!("{f}.policy_ids"), &r.policy_ids);
        }
        Payload::SlaAtRisk(_)
        | Payload::SlaBreached(_)
        | Payload::LeadRouted(_)
        | Payload::SlaEscalated(_)
        | Payload::OwnershipRequested(_)
        | Payload::ContactErased(_)
        | Payload::MergeRequested(_)
        | Payload::UnmergeRequested(_)
        | Payload::AccountOwnershipRequested(_) => v.add(
            "payload",
            format!(
                "`{}` is written by leadledger itself (SLA worker, router, ownership, \
                 privacy and identity commands); clients cannot append it",
                p.event_type()
            ),
        ),
        // Checked with its visitor (`visitor::event`).
        Payload::IdentityLinked(_) => {}
        Payload::ContactRoleAssigned(r) => account::role(v, r),
        // Also checked against its lead (`account::self_referral`).
        Payload::ReferredBy(r) => account::referral(v, r),
        Payload::TargetAccountListed(l) => account::listing(v, l),
        Payload::AccountCoverageAssigned(c) => account::coverage(v, c),
        Payload::RenewalScheduled(r) => account::renewal(v, r),
        Payload::Unknown { .. } => v.add("payload", "required: exactly one payload must be set"),
    }
}

/// Whether events of `event_type` are written by leadledger itself (SLA worker, router,
/// ownership commands): clients cannot append them. Ingest asks this of the wire type
/// before anything else; [`event`] refuses the same payloads.
pub fn written_by_leadledger(event_type: &str) -> bool {
    matches!(
        event_type,
        "sla_at_risk"
            | "sla_breached"
            | "sla_escalated"
            | "lead_routed"
            | "ownership_requested"
            | "contact_erased"
            | "merge_requested"
            | "unmerge_requested"
            | "account_ownership_requested"
    )
}

fn contact(v: &mut Violations, f: &str, c: &Contact) {
    if c.email.is_empty() && c.phone.is_empty() {
        v.add(f, "an email or a phone is required");
    }
    if !c.email.is_empty() && !is_email(&c.email) {
        v.add(format!("{f}.email"), "not a valid e-mail address");
    }
    if !c.phone.is_empty()
        && (c.phone.len() > 32
            || !c
                .phone
                .chars()
                .all(|ch| ch.is_ascii_digit() || "+-() ".contains(ch))
            || c.phone.chars().filter(char::is_ascii_digit).count() < 5)
    {
        v.add(
            format!("{f}.phone"),
            "must be at most 32 characters of digits, + - ( ) and spaces",
        );
    }
    text(v, &format!("{f}.name"), &c.name, SHORT);
    text(v, &format!("{f}.title"), &c.title, SHORT);
}

fn company(v: &mut Violations, f: &str, c: &Company) {
    text(v, &format!("{f}.name"), &c.name, SHORT);
    if !c.domain.is_empty() && !is_domain(&c.domain) {
        v.add(format!("{f}.domain"), "not a valid domain name");
    }
    text(v, &format!("{f}.region"), &c.region, 64);
    text(v, &format!("{f}.industry"), &c.industry, 64);
    account::account_id(v, &format!("{f}.account_id"), &c.account_id);
}

fn source(v: &mut Violations, f: &str, s: &LeadSource) {
    slug(v, &format!("{f}.channel"), &s.channel, true);
    for (name, value, max) in [
        ("campaign", &s.campaign, SHORT),
        ("medium", &s.medium, SHORT),
        ("keyword", &s.keyword, SHORT),
        ("utm_source", &s.utm_source, SHORT),
        ("utm_medium", &s.utm_medium, SHORT),
        ("utm_campaign", &s.utm_campaign, SHORT),
        ("utm_term", &s.utm_term, SHORT),
        ("utm_content", &s.utm_content, SHORT),
        ("landing_page", &s.landing_page, URL),
        ("referrer", &s.referrer, URL),
        ("offline_activity_id", &s.offline_activity_id, ID),
    ] {
        text(v, &format!("{f}.{name}"), value, max);
    }
}

/// A lower-case identifier such as a channel name: 1..64 of `[a-z0-9_-]`.
fn slug(v: &mut Violations, f: &str, s: &str, required: bool) {
    if s.is_empty() {
        if required {
            v.add(f, "required");
        }
    } else if s.len() > 64
        || !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        v.add(f, "must be 1..64 characters of a-z 0-9 _ -");
    }
}

/// Most policies one pause or resume may name.
pub const MAX_PAUSED_POLICIES: usize = 32;

/// SLA policy ids (as the policy file spells them: 1..64 of `[A-Za-z0-9_.-]`), distinct,
/// at most [`MAX_PAUSED_POLICIES`]; empty means every policy.
fn policy_ids(v: &mut Violations, f: &str, ids: &[String]) {
    if ids.len() > MAX_PAUSED_POLICIES {
        v.add(
            f,
            format!("at most {MAX_PAUSED_POLICIES} policies (none: every policy)"),
        );
    }
    for (i, id) in ids.iter().enumerate() {
        if id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            v.add(
                format!("{f}[{i}]"),
                "must be a policy id: 1..64 characters of A-Z a-z 0-9 _ . -",
            );
        } else if ids[..i].contains(id) {
            v.add(format!("{f}[{i}]"), format!("`{id}` is named twice"));
        }
    }
}

/// An exit's reason: a code or words (or both); words are required with `other` too.
fn exit_reason(v: &mut Violations, f: &str, to: Stage, code: i32, reason: &str, rep_id: &str) {
    let no_words = reason.trim().is_empty();
    match crate::reason::code_name(to, code) {
        None => v.add(format!("{f}.code"), format!("unknown code {code}")),
        Some("unspecified") if no_words => {
            v.add(format!("{f}.reason"), "required when code is unspecified")
        }
        Some("other") if no_words => v.add(format!("{f}.reason"), "required when code is other"),
        Some(_) => {}
    }
    text(v, &format!("{f}.reason"), reason, TEXT);
    text(v, &format!("{f}.rep_id"), rep_id, ID);
}

/// Optional free text: at most `max` characters, no control characters except tab, CR and LF.
fn text(v: &mut Violations, f: &str, s: &str, max: usize) {
    let n = s.chars().count();
    if n > max {
        v.add(f, format!("must be at most {max} characters (got {n})"));
    } else if s
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        v.add(f, "must not contain control characters");
    }
}

/// A pragmatic e-mail shape check: `local@domain.tld`, no spaces, at most 254 characters.
pub fn is_email(s: &str) -> bool {
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty() && local.len() <= 64 && !local.contains('@') && is_domain(domain)
}

/// A host name with at least two labels, each 1..63 of letters, digits and inner hyphens.
pub fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| {
            // An internationalised TLD may come as punycode (`xn--fiqs8s` for .中国).
            tld.chars().all(char::is_alphabetic)
                || (tld.len() > 4
                    && tld.starts_with("xn--")
                    && tld.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        })
}

/// Which amounts a money field takes.
#[derive(Clone, Copy)]
enum Amount {
    /// A deal or a payment: more than nothing.
    Positive,
    /// Spend: nothing is a statement too.
    ZeroOrMore,
}

/// An amount in minor units up to [`MAX_AMOUNT_MINOR`] and its ISO 4217 currency, the
/// fields `{f}.amount_minor` and `{f}.currency`.
fn money(v: &mut Violations, f: &str, amount_minor: i64, currency: &str, amount: Amount) {
    match amount {
        Amount::Positive if amount_minor <= 0 => {
            v.add(format!("{f}.amount_minor"), "must be greater than 0")
        }
        Amount::ZeroOrMore if amount_minor < 0 => {
            v.add(format!("{f}.amount_minor"), "must not be negative")
        }
        _ if amount_minor > MAX_AMOUNT_MINOR => {
            v.add(format!("{f}.amount_minor"), "must be at most 10^15")
        }
        _ => {}
    }
    if !is_currency(currency) {
        v.add(
            format!("{f}.currency"),
            "must be an ISO 4217 code such as CNY, USD or EUR",
        );
    }
}

/// Active ISO 4217 currency codes.
const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

pub fn is_currency(s: &str) -> bool {
    CURRENCIES.binary_search(&s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_list_is_sorted_for_binary_search() {
        assert!(CURRENCIES.windows(2).all(|w| w[0] < w[1]));
        assert!(is_currency("CNY") && is_currency("USD") && is_currency("EUR"));
        assert!(!is_currency("cny") && !is_currency("XXX") && !is_currency("CN"));
    }

    #[test]
    fn the_payloads_clients_cannot_append_are_the_ones_named_so() {
        use crate::event::{OwnershipMode, OwnershipRequest, Routing, SlaAlert};
        let alert = SlaAlert {
            policy_id: "p".into(),
            policy_version: 1,
            start_event_id: uuid::Uuid::nil(),
            started_at: DateTime::UNIX_EPOCH,
            due_at: DateTime::UNIX_EPOCH,
        };
        let leadledger_only = [
            Payload::SlaAtRisk(alert.clone()),
            Payload::SlaBreached(alert),
            Payload::LeadRouted(Routing::default()),
            Payload::SlaEscalated(crate::event::Escalation {
                policy_id: "p".into(),
                policy_version: 1,
                start_event_id: uuid::Uuid::nil(),
                started_at: DateTime::UNIX_EPOCH,
                due_at: DateTime::UNIX_EPOCH,
                step_id: "s".into(),
                trigger: crate::event::EscalationTrigger::Breached,
                after_seconds: 0,
                owner: crate::event::Owner::default(),
                notify: Vec::new(),
                unresolved: Vec::new(),
                reassignment: None,
            }),
            Payload::OwnershipRequested(OwnershipRequest {
                mode: OwnershipMode::Claim,
                rep_id: "r".into(),
                team: String::new(),
                requested_by: String::new(),
                expected_rep_id: String::new(),
                account_ruling: String::new(),
            }),
        ];
        for p in &leadledger_only {
            let mut v = Violations::default();
            payload(&mut v, p);
            assert!(
                v.0.iter()
                    .any(|f| f.description.contains("clients cannot append")),
                "{p:?}"
            );
            assert!(written_by_leadledger(p.event_type()), "{p:?}");
        }
        let lost = Payload::Lost {
            reason: "price".into(),
            competitor: String::new(),
            code: 0,
            rep_id: String::new(),
        };
        assert!(!written_by_leadledger(lost.event_type()));
    }

    #[test]
    fn an_exit_needs_a_code_or_words_and_words_with_other() {
        let recycled = |code: i32, reason: &str| {
            let mut v = Violations::default();
            payload(
                &mut v,
                &Payload::Recycled {
                    reason: reason.into(),
                    code,
                    rep_id: "rep-1".into(),
                },
            );
            v.0.into_iter()
                .map(|f| format!("{}: {}", f.field, f.description))
                .collect::<Vec<_>>()
        };
        assert!(recycled(2, "").is_empty(), "a code alone");
        assert!(
            recycled(0, "stale").is_empty(),
            "words alone (as before the codes)"
        );
        assert_eq!(
            recycled(0, " "),
            ["payload.recycled.reason: required when code is unspecified"]
        );
        assert_eq!(
            recycled(6, ""),
            ["payload.recycled.reason: required when code is other"]
        );
        assert_eq!(recycled(7, "x"), ["payload.recycled.code: unknown code 7"]);
        let mut v = Violations::default();
        payload(
            &mut v,
            &Payload::Disqualified {
                reason: String::new(),
                code: 6,
                rep_id: "r".repeat(129),
            },
        );
        assert_eq!(v.0.len(), 1);
        assert_eq!(v.0[0].field, "payload.disqualified.rep_id");
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "li.wei+crm@example.com.cn", "张@例子.中国"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a b@c.co", "a@b.c0", "a@-b.co",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
