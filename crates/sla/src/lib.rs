//! SLA clocks, business calendars, lead routing and feedback completeness: the pure core of
//! leadledger's marketing–sales service levels.
//!
//! Like the domain crate, nothing here does I/O or reads the clock: `now` is always a
//! parameter, the policy file arrives as a `&str`, and every result is a plain function of
//! the lead's timeline. So a rebuild from the log reproduces every clock state and every
//! assignment, and everything is unit- and property-testable. `docs/SLA.md` describes the
//! rules for a sales-ops reader.
//!
//! # Layout
//! - [`calendar`]: tenant business calendars (time zone, split working hours, holidays,
//!   make-up days) and working-time arithmetic that is correct across DST.
//! - [`kind`]: event kinds policies name, including derived partner kinds, and the business
//!   order the fold uses.
//! - [`policy`]: SLA policies, the shipped defaults, allowances.
//! - [`config`]: the versioned TOML policy file and its errors.
//! - [`clock`]: clock states of a lead at `now` ([`evaluate`]).
//! - [`escalation`]: escalation ladders: the next step of a running clock, its recipients.
//! - [`pause`]: paused clocks: the pause state per policy and thresholds moved by pauses.
//! - [`routing`]: first-match assignment rules and weighted, seeded rep rotation.
//! - [`tally`]: clocks counted per group and policy as the SLA report counts them.
//! - [`tenants`]: a policy set per tenant (own calendar, policies, routing) or the default.
//! - [`feedback`]: required feedback fields per stage, completeness per lead and per rep.
//! - `names`: how a rule matches a configured name (trimmed, case-insensitive).

#![forbid(unsafe_code)]

pub mod calendar;
pub mod clock;
pub mod config;
pub mod escalation;
pub mod feedback;
pub mod kind;
mod ladder;
mod names;
pub mod pause;
pub mod policy;
pub mod routing;
pub mod tally;
pub mod tenants;

pub use calendar::{BusinessCalendar, CalendarError, CalendarSpec, WorkInterval};
pub use clock::{evaluate, Clock, ClockState};
pub use config::PolicyError;
pub use feedback::{lead_feedback, rep_completeness, FeedbackField, FeedbackRequirements};
pub use kind::EventKind;
pub use policy::{PolicySet, Scope, SlaPolicy, Trigger};
pub use routing::{
    assign, Assignment, RepConfig, RepRecord, RoutingRules, RoutingSetup, Rule, Target, TeamConfig,
};
pub use tenants::TenantPolicies;
