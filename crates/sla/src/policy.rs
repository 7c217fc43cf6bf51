//! SLA policies: what opens a clock, what meets it, how long it may run, and for which leads.
//!
//! A policy is data, loaded from the tenant's policy file ([`crate::config`]) or taken from
//! [`PolicySet::defaults`]. Each carries an id and a version; every clock records both, so a
//! report can tell which rule a lead was measured against after the rule changed.
//!
//! # Layout
//! - [`Trigger`]: a set of [`EventKind`]s (any one matches).
//! - [`Scope`]: segment / region / channel filters on the lead (empty = any).
//! - [`SlaPolicy`]: one policy, with [`SlaPolicy::due_at`] and [`SlaPolicy::at_risk_at`].
//! - [`PolicySet`]: the policies, the tenant calendar and the feedback requirements of one
//!   file; [`PolicySet::defaults`] ships the five default policies.
//! - [`parse_allowance`] / [`format_allowance`]: `"24h"`, `"30d"`, `"1h30m"`.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use leadledger_domain::event::Segment;
use leadledger_domain::LeadState;

use crate::calendar::BusinessCalendar;
use crate::feedback::FeedbackRequirements;
use crate::kind::EventKind;
use crate::ladder::EscalationStep;
use crate::names::any_or_listed;
use crate::routing::RoutingSetup;

/// The policy file format version this build reads.
pub const FILE_VERSION: i64 = 1;

/// The default share of the allowance after which an open clock is "at risk".
pub const DEFAULT_AT_RISK_SHARE: f64 = 0.8;

/// The longest allowance accepted (ten years): keeps due-time arithmetic far from overflow.
pub fn max_allowance() -> Duration {
    Duration::days(3650)
}

/// A set of event kinds; an event matching any of them triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub kinds: Vec<EventKind>,
}

impl Trigger {
    pub fn of(kinds: &[EventKind]) -> Trigger {
        Trigger {
            kinds: kinds.to_vec(),
        }
    }
}

/// Which leads a policy applies to. Each non-empty list must contain the lead's value; an
/// empty list matches any lead. Values are read from the lead's folded state (its first
/// capture's company and source), so a late-arriving capture can bring a lead into or out of
/// scope — the clocks are recomputed from the timeline anyway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub segments: Vec<Segment>,
    pub regions: Vec<String>,
    pub channels: Vec<String>,
}

impl Scope {
    pub fn matches(&self, lead: &LeadState) -> bool {
        (self.segments.is_empty() || self.segments.contains(&lead.company.segment))
            && any_or_listed(&self.regions, &lead.company.region)
            && any_or_listed(&self.channels, &lead.source.channel)
    }
}

/// One SLA policy.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicy {
    /// Stable id (`[A-Za-z0-9_.-]`, 1..64): clocks and future SLA events are keyed by it.
    pub id: String,
    /// Bumped by the tenant when the rule changes; recorded on every clock.
    pub version: u32,
    pub name: String,
    pub start: Trigger,
    pub target: Trigger,
    pub allowance: Duration,
    /// Count only the calendar's working time (else elapsed wall time).
    pub business_time: bool,
    /// Share of the allowance after which an open clock is at risk, in `(0, 1]`.
    pub at_risk_share: f64,
    pub scope: Scope,
    /// Facts that stop a running clock (the lead left the flow the clock measures).
    pub stop_on: Vec<EventKind>,
    /// Escalation steps, in the order of their instants (`crate::escalation`).
    pub escalation: Vec<EscalationStep>,
}

impl SlaPolicy {
    /// When a clock started at `start` is due: `allowance` of working time later for a
    /// business-time policy, of elapsed time otherwise.
    pub fn due_at(&self, cal: &BusinessCalendar, start: DateTime<Utc>) -> DateTime<Utc> {
        self.after(cal, start, self.allowance)
    }

    /// When a clock started at `start` becomes at risk: `at_risk_share × allowance` (rounded
    /// to the second) after `start`, counted like the allowance.
    pub fn at_risk_at(&self, cal: &BusinessCalendar, start: DateTime<Utc>) -> DateTime<Utc> {
        self.after(cal, start, self.at_risk_allowance())
    }

    /// `at_risk_share × allowance`, rounded to the second.
    pub fn at_risk_allowance(&self) -> Duration {
        let secs = (self.allowance.num_seconds() as f64 * self.at_risk_share).round() as i64;
        Duration::seconds(secs)
    }

    /// Counted time from a clock's start to escalation step `s`: its threshold's allowance
    /// plus its `after`.
    pub fn step_offset(&self, s: &EscalationStep) -> Duration {
        let base = match s.trigger {
            leadledger_domain::event::EscalationTrigger::AtRisk => self.at_risk_allowance(),
            leadledger_domain::event::EscalationTrigger::Breached => self.allowance,
        };
        base + s.after
    }

    /// `d` of counted time after `start`: working time or elapsed time.
    pub(crate) fn after(
        &self,
        cal: &BusinessCalendar,
        start: DateTime<Utc>,
        d: Duration,
    ) -> DateTime<Utc> {
        if self.business_time {
            cal.add_working(start, d)
        } else {
            start + d
        }
    }

    /// Counted time in `[from, to)`: working time or elapsed time (zero when `to <= from`).
    pub(crate) fn counted(
        &self,
        cal: &BusinessCalendar,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Duration {
        if self.business_time {
            cal.working_duration(from, to)
        } else {
            (to - from).max(Duration::zero())
        }
    }
}

/// Everything one policy file configures.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySet {
    /// The file format version (always [`FILE_VERSION`] once loaded).
    pub version: i64,
    pub calendar: BusinessCalendar,
    pub policies: Vec<SlaPolicy>,
    pub feedback: FeedbackRequirements,
    /// Lead routing on MQL; `None`: leadledger does not route (the CRM hands leads off).
    pub routing: Option<RoutingSetup>,
}

impl PolicySet {
    /// The shipped defaults, measured against [`BusinessCalendar::standard`] in UTC (a tenant
    /// should configure its own calendar; see `docs/SLA.md`). The first three follow the norms
    /// in `docs/DOMAIN.md`, §SLA norms; the last two are leadledger's own choice:
    ///
    /// | id | start | target | allowance |
    /// |---|---|---|---|
    /// | `mql-follow-up` | MQL or hand-off | first follow-up | 24 business hours |
    /// | `mql-accept-reject` | MQL | sales accepts or rejects | 48 business hours |
    /// | `partner-accept` | hand-off to a partner | partner accepts | 48 h |
    /// | `sql-poc-start` | SQL (sales accepted) | POC started | 30 days |
    /// | `poc-decision` | POC started | POC completed, signed or lost | 45 days |
    ///
    /// Every default stops on recycled and disqualified; see [`default_policies`] for the
    /// other stops.
    pub fn defaults() -> PolicySet {
        PolicySet {
            version: FILE_VERSION,
            calendar: BusinessCalendar::standard(Tz::UTC),
            policies: default_policies(),
            feedback: FeedbackRequirements::default(),
            routing: None,
        }
    }

    pub fn get(&self, id: &str) -> Option<&SlaPolicy> {
        self.policies.iter().find(|p| p.id == id)
    }
}

/// The five shipped policies.
///
/// Beyond recycled/disqualified (every default stops on those, the `stop_on` default of
/// `docs/SLA.md`) each stops where its measurement stops making sense: a follow-up or
/// partner-accept clock stops when the MQL is rejected (the lead went back to marketing; the
/// accept/reject clock measures that response), and the SQL → POC clock stops when the deal
/// is signed or lost without a POC.
pub fn default_policies() -> Vec<SlaPolicy> {
    use EventKind::*;
    fn policy(
        id: &str,
        name: &str,
        start: &[EventKind],
        target: &[EventKind],
        allowance: Duration,
        business_time: bool,
        stop_on: &[EventKind],
    ) -> SlaPolicy {
        SlaPolicy {
            id: id.into(),
            version: 1,
            name: name.into(),
            start: Trigger::of(start),
            target: Trigger::of(target),
            allowance,
            business_time,
            at_risk_share: DEFAULT_AT_RISK_SHARE,
            scope: Scope::default(),
            stop_on: stop_on.to_vec(),
            escalation: Vec::new(),
        }
    }
    vec![
        policy(
            "mql-follow-up",
            "First sales follow-up after MQL or hand-off",
            &[MqlQualified, HandedOff],
            &[FollowUpLogged],
            Duration::hours(24),
            true,
            &[Recycled, Disqualified, SalesRejected],
        ),
        policy(
            "mql-accept-reject",
            "Sales accepts or rejects an MQL",
            &[MqlQualified],
            &[SalesAccepted, SalesRejected],
            Duration::hours(48),
            true,
            &[Recycled, Disqualified],
        ),
        policy(
            "partner-accept",
            "Partner accepts a handed-off lead",
            &[HandedOffToPartner],
            &[PartnerAccepted],
            Duration::hours(48),
            false,
            &[Recycled, Disqualified, SalesRejected],
        ),
        policy(
            "sql-poc-start",
            "POC starts after SQL",
            &[SalesAccepted],
            &[PocStarted],
            Duration::days(30),
            false,
            &[Recycled, Disqualified, Signed, Lost],
        ),
        policy(
            "poc-decision",
            "Decision after POC start",
            &[PocStarted],
            &[PocCompleted, Signed, Lost],
            Duration::days(45),
            false,
            &[Recycled, Disqualified],
        ),
    ]
}

/// Parses an allowance: one or more `<number><unit>` with units `d` (24 h), `h`, `m`, e.g.
/// `"24h"`, `"30d"`, `"1h30m"`. Must be positive and at most [`max_allowance`].
pub fn parse_allowance(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration like \"24h\", \"30d\" or \"1h30m\"");
    let mut total = Duration::zero();
    let mut digits = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        if n > 10 * 3650 * 24 * 60 {
            return Err(format!("`{s}` is longer than 3650 days"));
        }
        total += match c {
            'd' => Duration::days(n),
            'h' => Duration::hours(n),
            'm' => Duration::minutes(n),
            _ => return Err(bad()),
        };
        digits.clear();
        any = true;
    }
    if !any || !digits.is_empty() {
        return Err(bad());
    }
    if total <= Duration::zero() {
        return Err(format!("`{s}` must be longer than zero"));
    }
    if total > max_allowance() {
        return Err(format!("`{s}` is longer than 3650 days"));
    }
    Ok(total)
}

/// Hours and minutes (`"48h"`, `"1h30m"`, `"720h"`): valid for both business-time and
/// elapsed-time policies, so a printed allowance always parses back.
pub fn format_allowance(d: Duration) -> String {
    let m = d.num_minutes().max(0);
    match (m / 60, m % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}
