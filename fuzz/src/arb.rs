//! An `arbitrary` mirror of the wire event ([`pb::Event`]): prost types do not implement
//! `Arbitrary`, and a mirror lets the fuzzer reach the interesting values quickly (valid ids
//! and emails, control characters, strings past every length limit, times far outside
//! chrono's range, enum numbers out of range, negative and huge amounts).

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use leadledger_api::pb;
use leadledger_api::pb::event::Payload as P;

/// Values a field is often checked against, so the fuzzer does not have to guess them.
const KNOWN: &[&str] = &[
    "",
    " ",
    "acme",
    "globex",
    "lead-1",
    "hubspot",
    "web",
    "paid_search",
    "li.wei@example.com",
    "张@例子.中国",
    "+86 138 0013 8000",
    "CNY",
    "USD",
    "cny",
    "example.com.cn",
    "xn--fiqs8s",
    "rep-7",
    "no budget this year",
    "6f1c9a8e-5b7d-4c3e-9a2f-1d0e8b7c6a5f",
    "6F1C9A8E-5B7D-4C3E-9A2F-1D0E8B7C6A5F",
    "{6f1c9a8e-5b7d-4c3e-9a2f-1d0e8b7c6a5f}",
    "urn:uuid:6f1c9a8e-5b7d-4c3e-9a2f-1d0e8b7c6a5f",
    "6f1c9a8e5b7d4c3e9a2f1d0e8b7c6a5f",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "\0",
    "a\0b",
    "tab\there\r\n",
    "\u{202e}rtl",
    "\u{1f}",
    "del\u{7f}",
    "https://example.com/landing?utm_source=baidu",
    crate::TRACEPARENT,
    "sla_breached",
    "ll-event-type",
    "cookie-1",
    "~visitor/cookie-1",
    "~spend/web/q1",
    "~account/domain:acme.com",
];

/// A string field.
#[derive(Debug, Clone, Arbitrary)]
pub enum Str {
    Raw(String),
    Known(u8),
    /// `unit` repeated: past every length limit without a huge input.
    Long {
        unit: String,
        times: u16,
    },
}

/// Largest string [`Str::Long`] builds, in bytes (the limits are 4,000 characters at most).
const LONG_MAX: usize = 20_000;

impl Str {
    pub fn get(&self) -> String {
        match self {
            Str::Raw(s) => s.clone(),
            Str::Known(i) => KNOWN[usize::from(*i) % KNOWN.len()].to_string(),
            Str::Long { unit, times } => {
                let unit = if unit.is_empty() { "x" } else { unit.as_str() };
                let times = usize::from(*times).min(LONG_MAX / unit.len());
                unit.repeat(times)
            }
        }
    }
}

/// An enum or counter number: small ones (every defined value and a few past them) or any.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Num {
    Small(u8),
    Raw(i32),
}

impl Num {
    pub fn i32(self) -> i32 {
        match self {
            Num::Small(n) => i32::from(n),
            Num::Raw(n) => n,
        }
    }

    pub fn u32(self) -> u32 {
        self.i32() as u32
    }
}

/// Edges of time: the ends of `i64` and of chrono's range (about ±262,000 years), the
/// accepted window (2000-01-01, now + 24 h), the last second of a minute (where chrono
/// takes nanos ≥ 10⁹ as a leap second), protobuf's range (0001-01-01 ..= 9999-12-31).
const EDGE_SECONDS: &[i64] = &[
    i64::MIN,
    i64::MAX,
    -1,
    0,
    946_684_799,
    946_684_800,
    crate::NOW_SECONDS - 1,
    crate::NOW_SECONDS + 86_400,
    crate::NOW_SECONDS + 86_401,
    -62_135_596_800,
    -62_135_596_801,
    253_402_300_799,
    253_402_300_800,
    8_210_266_876_799,
    8_210_266_876_800,
    -8_334_601_315_200,
    -8_334_601_315_201,
];

const EDGE_NANOS: &[i32] = &[
    0,
    1,
    999_999_999,
    1_000_000_000,
    1_500_000_000,
    1_999_999_999,
    2_000_000_000,
    -1,
    i32::MIN,
    i32::MAX,
];

/// Seconds of a timestamp: near the targets' `now`, an edge, or anything.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Secs {
    NearNow(i32),
    Edge(u8),
    Raw(i64),
}

/// Nanos of a timestamp: valid, an edge, or anything.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Nanos {
    Valid(u32),
    Edge(u8),
    Raw(i32),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub struct Ts {
    pub seconds: Secs,
    pub nanos: Nanos,
}

impl Ts {
    pub fn get(self) -> prost_types::Timestamp {
        prost_types::Timestamp {
            seconds: match self.seconds {
                Secs::NearNow(d) => crate::NOW_SECONDS + i64::from(d),
                Secs::Edge(i) => EDGE_SECONDS[usize::from(i) % EDGE_SECONDS.len()],
                Secs::Raw(s) => s,
            },
            nanos: match self.nanos {
                Nanos::Valid(n) => (n % 1_000_000_000) as i32,
                Nanos::Edge(i) => EDGE_NANOS[usize::from(i) % EDGE_NANOS.len()],
                Nanos::Raw(n) => n,
            },
        }
    }
}

#[derive(Debug, Clone, Arbitrary)]
pub struct Contact {
    pub email: Str,
    pub phone: Str,
    pub name: Str,
    pub title: Str,
}

/// A sealed contact as the log holds it (clients may not send one; readers must not trip on
/// any).
#[derive(Debug, Clone, Arbitrary)]
pub struct Sealed {
    pub key_id: Str,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub email_domain: Str,
}

#[derive(Debug, Clone, Arbitrary)]
pub struct Company {
    pub name: Str,
    pub domain: Str,
    pub region: Str,
    pub industry: Str,
    pub segment: Num,
    pub employees: Num,
    pub account_id: Str,
}

/// The twelve fields of `LeadSource`, in proto order.
#[derive(Debug, Clone, Arbitrary)]
pub struct LeadSource(pub [Str; 12]);

#[derive(Debug, Clone, Arbitrary)]
pub enum Payload {
    LeadCaptured {
        contact: Option<Contact>,
        company: Option<Company>,
        source: Option<LeadSource>,
        sealed: Option<Sealed>,
    },
    TouchRecorded {
        channel: Str,
        campaign: Str,
        touch_type: Num,
        content_id: Str,
        keyword: Str,
    },
    MqlQualified {
        score: Num,
        reason: Str,
    },
    HandedOff {
        team: Str,
        queue: Str,
        rep_id: Str,
        partner_id: Str,
    },
    SalesAccepted {
        rep_id: Str,
    },
    SalesRejected {
        reason: Num,
        text: Str,
        rep_id: Str,
    },
    FollowUpLogged {
        activity_type: Num,
        rep_id: Str,
        note: Str,
    },
    /// `stage`, `rep_id`, then the seven free-text fields in proto order.
    FeedbackRecorded {
        stage: Num,
        rep_id: Str,
        texts: [Str; 7],
    },
    PocStarted {
        owner_id: Str,
        use_case: Str,
    },
    PocCompleted {
        outcome: Num,
        notes: Str,
    },
    Signed {
        amount_minor: i64,
        currency: Str,
        contract_id: Str,
    },
    Lost {
        reason: Str,
        competitor: Str,
        code: Num,
        rep_id: Str,
    },
    Recycled {
        reason: Str,
        code: Num,
        rep_id: Str,
    },
    Disqualified {
        reason: Str,
        code: Num,
        rep_id: Str,
    },
    IdentityLinked {
        lead_id: Str,
    },
    ContactRoleAssigned {
        role: Num,
        primary: bool,
        rep_id: Str,
    },
    ReferredBy {
        referrer_lead_id: Str,
        rep_id: Str,
    },
    TargetAccountListed {
        account: Str,
        name: Str,
        tier: Str,
        owner_rep_id: Str,
        owner_team: Str,
        delisted: bool,
    },
    AccountCoverageAssigned {
        account: Str,
        role: i32,
        rep_id: Str,
        removed: bool,
    },
    RenewalScheduled {
        account: Str,
        contract_id: Str,
        renews_on: Str,
        amount_minor: i64,
        currency: Str,
    },
}

/// A wire event as a client (or a producer writing straight to the topic) could send it.
#[derive(Debug, Clone, Arbitrary)]
pub struct Event {
    pub event_id: Str,
    pub tenant_id: Str,
    pub lead_id: Str,
    pub occurred_at: Option<Ts>,
    pub recorded_at: Option<Ts>,
    pub source: Option<(Str, Str)>,
    pub schema_version: Num,
    pub trace: Option<(Str, Str)>,
    pub event_type: Str,
    pub payload: Option<Payload>,
    pub visitor_id: Str,
}

impl Event {
    pub fn get(&self) -> pb::Event {
        pb::Event {
            event_id: self.event_id.get(),
            tenant_id: self.tenant_id.get(),
            lead_id: self.lead_id.get(),
            occurred_at: self.occurred_at.map(Ts::get),
            recorded_at: self.recorded_at.map(Ts::get),
            source: self.source.as_ref().map(|(system, id)| pb::SourceRef {
                system: system.get(),
                event_id: id.get(),
            }),
            schema_version: self.schema_version.u32(),
            trace: self.trace.as_ref().map(|(p, s)| pb::TraceContext {
                traceparent: p.get(),
                tracestate: s.get(),
            }),
            event_type: self.event_type.get(),
            payload: self.payload.as_ref().map(Payload::get),
            visitor_id: self.visitor_id.get(),
        }
    }
}

impl Payload {
    pub fn get(&self) -> P {
        match self {
            Payload::LeadCaptured {
                contact,
                company,
                source,
                sealed,
            } => P::LeadCaptured(pb::LeadCaptured {
                sealed_contact: sealed.as_ref().map(|s| pb::SealedContact {
                    key_id: s.key_id.get(),
                    nonce: s.nonce.clone(),
                    ciphertext: s.ciphertext.clone(),
                    email_domain: s.email_domain.get(),
                }),
                contact: contact.as_ref().map(|c| pb::Contact {
                    email: c.email.get(),
                    phone: c.phone.get(),
                    name: c.name.get(),
                    title: c.title.get(),
                }),
                company: company.as_ref().map(|c| pb::Company {
                    name: c.name.get(),
                    domain: c.domain.get(),
                    region: c.region.get(),
                    industry: c.industry.get(),
                    segment: c.segment.i32(),
                    employees: c.employees.u32(),
                    account_id: c.account_id.get(),
                }),
                source: source.as_ref().map(|LeadSource(s)| pb::LeadSource {
                    channel: s[0].get(),
                    campaign: s[1].get(),
                    medium: s[2].get(),
                    keyword: s[3].get(),
                    utm_source: s[4].get(),
                    utm_medium: s[5].get(),
                    utm_campaign: s[6].get(),
                    utm_term: s[7].get(),
                    utm_content: s[8].get(),
                    landing_page: s[9].get(),
                    referrer: s[10].get(),
                    offline_activity_id: s[11].get(),
                }),
            }),
            Payload::TouchRecorded {
                channel,
                campaign,
                touch_type,
                content_id,
                keyword,
            } => P::TouchRecorded(pb::TouchRecorded {
                channel: channel.get(),
                campaign: campaign.get(),
                touch_type: touch_type.i32(),
                content_id: content_id.get(),
                keyword: keyword.get(),
            }),
            Payload::MqlQualified { score, reason } => P::MqlQualified(pb::MqlQualified {
                score: score.u32(),
                reason: reason.get(),
            }),
            Payload::HandedOff {
                team,
                queue,
                rep_id,
                partner_id,
            } => P::HandedOff(pb::HandedOff {
                team: team.get(),
                queue: queue.get(),
                rep_id: rep_id.get(),
                partner_id: partner_id.get(),
            }),
            Payload::SalesAccepted { rep_id } => P::SalesAccepted(pb::SalesAccepted {
                rep_id: rep_id.get(),
            }),
            Payload::SalesRejected {
                reason,
                text,
                rep_id,
            } => P::SalesRejected(pb::SalesRejected {
                reason: reason.i32(),
                text: text.get(),
                rep_id: rep_id.get(),
            }),
            Payload::FollowUpLogged {
                activity_type,
                rep_id,
                note,
            } => P::FollowUpLogged(pb::FollowUpLogged {
                activity_type: activity_type.i32(),
                rep_id: rep_id.get(),
                note: note.get(),
            }),
            Payload::FeedbackRecorded {
                stage,
                rep_id,
                texts,
            } => P::FeedbackRecorded(pb::FeedbackRecorded {
                stage: stage.i32(),
                rep_id: rep_id.get(),
                business_situation: texts[0].get(),
                trigger: texts[1].get(),
                timeline: texts[2].get(),
                risks: texts[3].get(),
                competitors: texts[4].get(),
                progress: texts[5].get(),
                commercial: texts[6].get(),
            }),
            Payload::PocStarted { owner_id, use_case } => P::PocStarted(pb::PocStarted {
                owner_id: owner_id.get(),
                use_case: use_case.get(),
            }),
            Payload::PocCompleted { outcome, notes } => P::PocCompleted(pb::PocCompleted {
                outcome: outcome.i32(),
                notes: notes.get(),
            }),
            Payload::Signed {
                amount_minor,
                currency,
                contract_id,
            } => P::Signed(pb::Signed {
                amount_minor: *amount_minor,
                currency: currency.get(),
                contract_id: contract_id.get(),
            }),
            Payload::Lost {
                reason,
                competitor,
                code,
                rep_id,
            } => P::Lost(pb::Lost {
                reason: reason.get(),
                competitor: competitor.get(),
                code: code.i32(),
                rep_id: rep_id.get(),
            }),
            Payload::Recycled {
                reason,
                code,
                rep_id,
            } => P::Recycled(pb::Recycled {
                reason: reason.get(),
                code: code.i32(),
                rep_id: rep_id.get(),
            }),
            Payload::Disqualified {
                reason,
                code,
                rep_id,
            } => P::Disqualified(pb::Disqualified {
                reason: reason.get(),
                code: code.i32(),
                rep_id: rep_id.get(),
            }),
            Payload::IdentityLinked { lead_id } => P::IdentityLinked(pb::IdentityLinked {
                lead_id: lead_id.get(),
            }),
            Payload::ContactRoleAssigned {
                role,
                primary,
                rep_id,
            } => P::ContactRoleAssigned(pb::ContactRoleAssigned {
                role: role.i32(),
                primary: *primary,
                rep_id: rep_id.get(),
            }),
            Payload::ReferredBy {
                referrer_lead_id,
                rep_id,
            } => P::ReferredBy(pb::ReferredBy {
                referrer_lead_id: referrer_lead_id.get(),
                rep_id: rep_id.get(),
            }),
            Payload::TargetAccountListed {
                account,
                name,
                tier,
                owner_rep_id,
                owner_team,
                delisted,
            } => P::TargetAccountListed(pb::TargetAccountListed {
                account: account.get(),
                name: name.get(),
                tier: tier.get(),
                owner_rep_id: owner_rep_id.get(),
                owner_team: owner_team.get(),
                delisted: *delisted,
            }),
            Payload::AccountCoverageAssigned {
                account,
                role,
                rep_id,
                removed,
            } => P::AccountCoverageAssigned(pb::AccountCoverageAssigned {
                account: account.get(),
                role: *role,
                rep_id: rep_id.get(),
                removed: *removed,
            }),
            Payload::RenewalScheduled {
                account,
                contract_id,
                renews_on,
                amount_minor,
                currency,
            } => P::RenewalScheduled(pb::RenewalScheduled {
                account: account.get(),
                contract_id: contract_id.get(),
                renews_on: renews_on.get(),
                amount_minor: *amount_minor,
                currency: currency.get(),
            }),
        }
    }
}

/// One change to a valid event.
#[derive(Debug, Clone, Arbitrary)]
pub enum Edit {
    EventId(Str),
    TenantId(Str),
    LeadId(Str),
    OccurredAt(Option<Ts>),
    RecordedAt(Option<Ts>),
    Source(Option<(Str, Str)>),
    SourceEventId(Str),
    SchemaVersion(Num),
    Trace(Option<(Str, Str)>),
    EventType(Str),
    Payload(Option<Payload>),
}

/// An event for a request: mostly a valid one (a seed event of any payload type) with a few
/// edits, so that batches often pass validation and what ingest accepts gets checked; or one
/// built from nothing.
#[derive(Debug, Clone, Arbitrary)]
pub enum EventSpec {
    Valid {
        base: u8,
        /// The client names the event with its own UUID instead of a source event id.
        client_id: Option<Str>,
        edits: Vec<Edit>,
    },
    Free(Event),
}

impl EventSpec {
    pub fn get(&self) -> pb::Event {
        let (base, client_id, edits) = match self {
            EventSpec::Free(e) => return e.get(),
            EventSpec::Valid {
                base,
                client_id,
                edits,
            } => (base, client_id, edits),
        };
        static BASES: OnceLock<Vec<pb::Event>> = OnceLock::new();
        let bases = BASES.get_or_init(crate::seeds::client_events);
        let mut e = bases[usize::from(*base) % bases.len()].clone();
        if let Some(id) = client_id {
            e.event_id = id.get();
            e.source.get_or_insert_with(Default::default).event_id = String::new();
        }
        for edit in edits {
            match edit {
                Edit::EventId(s) => e.event_id = s.get(),
                Edit::TenantId(s) => e.tenant_id = s.get(),
                Edit::LeadId(s) => e.lead_id = s.get(),
                Edit::OccurredAt(t) => e.occurred_at = t.map(Ts::get),
                Edit::RecordedAt(t) => e.recorded_at = t.map(Ts::get),
                Edit::Source(s) => {
                    e.source = s.as_ref().map(|(system, id)| pb::SourceRef {
                        system: system.get(),
                        event_id: id.get(),
                    })
                }
                Edit::SourceEventId(s) => {
                    e.source.get_or_insert_with(Default::default).event_id = s.get()
                }
                Edit::SchemaVersion(n) => e.schema_version = n.u32(),
                Edit::Trace(t) => {
                    e.trace = t.as_ref().map(|(p, s)| pb::TraceContext {
                        traceparent: p.get(),
                        tracestate: s.get(),
                    })
                }
                Edit::EventType(s) => e.event_type = s.get(),
                Edit::Payload(p) => e.payload = p.as_ref().map(Payload::get),
            }
        }
        e
    }
}
