//! Touchpoints and milestones: what attribution reads from a lead's log.
//!
//! A lead's **touchpoints** are its capture (the `LeadCaptured` source: the touch that
//! created the lead) and every `TouchRecorded`. They are ordered by `(at, event_id)`, the
//! same order the lifecycle fold uses, so two touches at the same instant always come out in
//! the same order (the smaller event id first) whatever order they were logged in. That
//! order decides "first" and "last" and every rounding tie.
//!
//! The **milestones** of a path are positions on it:
//! - FT (first touch): the first touchpoint;
//! - LC (lead creation): the capture touchpoint (the earliest capture if there are several;
//!   later captures are ordinary touchpoints of kind [`TouchKind::Capture`]);
//! - OC (opportunity creation): the last touchpoint at or before the lead first reached SQL
//!   (sales accepted);
//! - CW (closed-won): the last touchpoint at or before the lead first reached signed;
//! - last touch: the last touchpoint.
//!
//! A milestone is **missing** when its event is absent (no capture in the log, never SQL,
//! never signed), when it lies after the conversion being credited (an MQL conversion has no
//! OC yet), or when no touchpoint lies at or before it. Several milestones may fall on the
//! same touchpoint (LC is often also FT; OC and CW coincide when nothing happened between
//! SQL and signing). What the models do with missing and shared milestones is decided in
//! [`crate::models`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadledger_domain::account::ContactRole;
use leadledger_domain::event::{LeadSource, TouchRecorded};
use leadledger_domain::{fold, Event, Payload, Stage, SCHEMA_VERSION};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Conversion, ConversionKind, COUNT_UNIT};

/// How a touchpoint came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TouchKind {
    /// A `LeadCaptured`: its source (channel, campaign, keyword) is the touch.
    Capture,
    /// A `TouchRecorded`.
    Touch,
    /// A `ReferredBy`: the referrer's source is the touch ([`crate::referral`]).
    Referral,
}

/// One `ReferredBy` fact of a journey ([`crate::referral`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub event_id: Uuid,
    pub at: DateTime<Utc>,
    /// The referring lead's id, as the fact names it.
    pub referrer: String,
}

/// A lead's source as a referral by it reads ([`crate::referral`]): its channel and
/// campaign, and its account with the time the account became a customer (its first lead
/// signed), when the resolver knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub channel: String,
    pub campaign: String,
    /// The lead's account key (`account:<id>`, `domain:<d>`, `lead:<id>`); empty: unknown.
    #[serde(default)]
    pub account: String,
    /// When the first lead of that account signed; `None`: not a customer.
    #[serde(default)]
    pub customer_since: Option<DateTime<Utc>>,
}

/// One marketing touch on a lead's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touchpoint {
    pub at: DateTime<Utc>,
    /// The event it came from: names the touch in credits and breaks ties at equal times.
    pub event_id: Uuid,
    /// Whose touch it is (on an account-level path, a colleague's touch keeps its own lead).
    pub lead_id: String,
    pub channel: String,
    pub campaign: String,
    pub keyword: String,
    pub kind: TouchKind,
}

impl Touchpoint {
    /// The path order: business time, then event id.
    pub fn order_key(&self) -> (DateTime<Utc>, Uuid) {
        (self.at, self.event_id)
    }

    fn from_capture(e: &Event, s: &LeadSource) -> Touchpoint {
        // Tools fill either the plain fields or the UTM ones; prefer the plain ones.
        let or = |a: &str, b: &str| if a.is_empty() { b } else { a }.to_string();
        Touchpoint {
            at: e.occurred_at,
            event_id: e.event_id,
            lead_id: e.lead_id.clone(),
            channel: s.channel.clone(),
            campaign: or(&s.campaign, &s.utm_campaign),
            keyword: or(&s.keyword, &s.utm_term),
            kind: TouchKind::Capture,
        }
    }

    fn from_touch(e: &Event, t: &TouchRecorded) -> Touchpoint {
        Touchpoint {
            at: e.occurred_at,
            event_id: e.event_id,
            lead_id: e.lead_id.clone(),
            channel: t.channel.clone(),
            campaign: t.campaign.clone(),
            keyword: t.keyword.clone(),
            kind: TouchKind::Touch,
        }
    }
}

/// The lifecycle moments the position-based models anchor on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestones {
    /// The event id of the capture touchpoint (LC), if the log has a capture.
    pub capture: Option<Uuid>,
    /// When the lead first reached SQL (OC is the last touch at or before it).
    pub sql_at: Option<DateTime<Utc>>,
    /// When the lead first reached signed (CW is the last touch at or before it).
    pub signed_at: Option<DateTime<Utc>>,
}

/// Touchpoints in path order plus the milestones that place FT/LC/OC/CW on them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Path {
    /// Sorted by `(at, event_id)`; [`Path::new`] sorts.
    pub touches: Vec<Touchpoint>,
    pub milestones: Milestones,
}

/// Where each milestone falls on a path (indices into [`Path::touches`]); `None` = missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slots {
    pub first: Option<usize>,
    pub lead_creation: Option<usize>,
    pub opportunity_creation: Option<usize>,
    pub closed_won: Option<usize>,
    pub last: Option<usize>,
}

impl Path {
    /// A path from touchpoints in any order (sorted here by `(at, event_id)`).
    pub fn new(mut touches: Vec<Touchpoint>, milestones: Milestones) -> Path {
        touches.sort_by_key(Touchpoint::order_key);
        Path {
            touches,
            milestones,
        }
    }

    pub fn len(&self) -> usize {
        self.touches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.touches.is_empty()
    }

    /// The path as it stood at `at`: touches at or before it, and only the milestones that
    /// had happened by then. A conversion is credited on `path.until(conversion.at)`, so a
    /// touch after the conversion never gets credit and, e.g., an MQL conversion has no OC.
    pub fn until(&self, at: DateTime<Utc>) -> Path {
        Path {
            touches: self
                .touches
                .iter()
                .filter(|t| t.at <= at)
                .cloned()
                .collect(),
            milestones: Milestones {
                capture: self.milestones.capture,
                sql_at: self.milestones.sql_at.filter(|&t| t <= at),
                signed_at: self.milestones.signed_at.filter(|&t| t <= at),
            },
        }
    }

    /// Places the milestones on the path (see the module docs for the rules).
    pub fn slots(&self) -> Slots {
        let n = self.touches.len();
        let last_at_or_before = |when: Option<DateTime<Utc>>| {
            when.and_then(|w| self.touches.iter().rposition(|t| t.at <= w))
        };
        Slots {
            first: (n > 0).then_some(0),
            lead_creation: self
                .milestones
                .capture
                .and_then(|id| self.touches.iter().position(|t| t.event_id == id)),
            opportunity_creation: last_at_or_before(self.milestones.sql_at),
            closed_won: last_at_or_before(self.milestones.signed_at),
            last: n.checked_sub(1),
        }
    }

    /// The channel sequence, for the data-driven models.
    pub fn channels(&self) -> Vec<String> {
        self.touches.iter().map(|t| t.channel.clone()).collect()
    }
}

/// Everything attribution needs about one lead, read from its log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journey {
    pub lead_id: String,
    /// The source system's account id (`Company.account_id`): the account key when given
    /// (see [`crate::account`]).
    #[serde(default)]
    pub account_id: String,
    /// `company.domain` of the first capture: the account key (see [`crate::account`]).
    pub company_domain: String,
    /// The domain of the contact's e-mail (never the address: it may be sealed, or erased):
    /// the account key when the company has none.
    pub email_domain: String,
    /// The company's region, industry and segment (`KA`, `SMB` or empty) as the lead's
    /// current state has them: the dimensions reports group conversions by.
    pub region: String,
    pub industry: String,
    pub segment: String,
    /// Its contact's latest role on the account's buying committee (`None`: none given, or
    /// one this reader does not know), whether its latest assignment says primary, and when it
    /// was last made primary: who an account-level [`crate::account::Scope`] selects.
    #[serde(default)]
    pub role: Option<ContactRole>,
    #[serde(default)]
    pub primary_contact: bool,
    #[serde(default)]
    pub primary_since: Option<DateTime<Utc>>,
    /// The lead's source (its first capture's channel and campaign): what a referral by this
    /// lead reads as ([`crate::referral`]).
    #[serde(default)]
    pub source: Source,
    /// Its `ReferredBy` facts, in path order; on the path only once resolved
    /// ([`crate::referral::resolve`]).
    #[serde(default)]
    pub referrals: Vec<Referral>,
    /// When the lead was captured; the lead's first fact when the log has no capture.
    /// Reports put a conversion in a period by this date or by the conversion's own.
    pub captured_at: Option<DateTime<Utc>>,
    /// The whole path (every touchpoint, all milestones); cut per conversion.
    pub path: Path,
    /// What the lead converted to, in time order (see [`Conversion`]).
    pub conversions: Vec<Conversion>,
}

impl Journey {
    /// The lead's own path for a conversion (contact level).
    pub fn path_for(&self, conversion: &Conversion) -> Path {
        self.path.until(conversion.at)
    }

    /// The lead's conversion of `kind`, if it has one.
    pub fn conversion(&self, kind: ConversionKind) -> Option<&Conversion> {
        self.conversions.iter().find(|c| c.kind == kind)
    }
}

/// Reads one lead's journey from its events (any order, duplicates allowed).
///
/// Duplicates are resolved as the lifecycle fold does (one version per event id: the
/// earliest, then the smallest by content), events of a newer schema version and unknown
/// payloads are skipped, and the stage times come from [`leadledger_domain::fold()`], so
/// attribution and the funnel read models agree on when a lead reached a stage.
pub fn journey(events: &[Event]) -> Journey {
    let events = distinct(events);
    let state = fold(events.iter().copied());
    let mut touches = Vec::new();
    let mut referrals = Vec::new();
    let mut capture = None;
    for e in &events {
        if e.schema_version > SCHEMA_VERSION {
            continue;
        }
        match &e.payload {
            Payload::LeadCaptured(c) => {
                // `events` is in path order, so the first capture seen is the earliest.
                capture.get_or_insert(e.event_id);
                touches.push(Touchpoint::from_capture(e, &c.source));
            }
            Payload::TouchRecorded(t) => touches.push(Touchpoint::from_touch(e, t)),
            Payload::ReferredBy(r) => referrals.push(Referral {
                event_id: e.event_id,
                at: e.occurred_at,
                referrer: r.referrer.clone(),
            }),
            _ => {}
        }
    }
    let lead_id = events
        .first()
        .map(|e| e.lead_id.clone())
        .unwrap_or_default();
    let reached_at = |stage: Stage| {
        // "Reached or beyond", like the funnels: a lead that skipped MQL (captured → SQL)
        // reached MQL when it reached SQL.
        let rank = stage.rank().expect("main-line stage");
        Stage::MAIN_LINE
            .into_iter()
            .filter(|s| s.rank().is_some_and(|r| r >= rank))
            .filter_map(|s| state.entered(s))
            .min()
    };
    let mut conversions = Vec::new();
    for (kind, stage) in [
        (ConversionKind::Mql, Stage::Mql),
        (ConversionKind::Sql, Stage::Sql),
        (ConversionKind::Poc, Stage::Poc),
        (ConversionKind::Signed, Stage::Signed),
    ] {
        if let Some(at) = reached_at(stage) {
            conversions.push(Conversion {
                lead_id: lead_id.clone(),
                kind,
                at,
                value_minor: COUNT_UNIT,
                currency: String::new(),
            });
        }
    }
    if let Some(at) = state.entered(Stage::Signed) {
        if state.signed_amount_minor > 0 {
            conversions.push(Conversion {
                lead_id: lead_id.clone(),
                kind: ConversionKind::Revenue,
                at,
                value_minor: state.signed_amount_minor,
                currency: state.signed_currency.clone(),
            });
        }
    }
    Journey {
        lead_id,
        account_id: state.company.account_id.clone(),
        company_domain: state.company.domain.clone(),
        email_domain: state.email_domain.clone(),
        region: state.company.region.clone(),
        industry: state.company.industry.clone(),
        segment: state.company.segment.as_str().to_string(),
        source: Source {
            channel: state.source.channel.clone(),
            campaign: if state.source.campaign.is_empty() {
                state.source.utm_campaign.clone()
            } else {
                state.source.campaign.clone()
            },
            // Known once the journeys are read together (`crate::referral`).
            account: String::new(),
            customer_since: None,
        },
        referrals,
        role: state.contact_role,
        primary_contact: state.primary_contact,
        primary_since: state.primary_since,
        captured_at: state.captured_at.or(events.first().map(|e| e.occurred_at)),
        path: Path::new(
            touches,
            Milestones {
                capture,
                sql_at: state.entered(Stage::Sql),
                signed_at: state.entered(Stage::Signed),
            },
        ),
        conversions,
    }
}

/// Reads the journeys of every lead in `events` (grouped by `lead_id`, in lead id order),
/// their referrals not resolved ([`crate::journeys`] resolves them among themselves; a
/// reader holding the referrers' sources elsewhere resolves them with
/// [`crate::referral::resolve`]).
pub fn unresolved_journeys(events: &[Event]) -> Vec<Journey> {
    let mut by_lead: BTreeMap<&str, Vec<Event>> = BTreeMap::new();
    for e in events {
        by_lead.entry(&e.lead_id).or_default().push(e.clone());
    }
    by_lead.values().map(|evs| journey(evs)).collect()
}

/// One version per event id, in `(occurred_at, event_id)` order (the fold's rule).
fn distinct(events: &[Event]) -> Vec<&Event> {
    leadledger_domain::fold::timeline(events)
}
