//! What the projector writes, as plain values.
//!
//! Given the events a batch adds to the read models (with their log positions), the stored
//! timelines of the leads they touch and the ownership requests granted so far,
//! [`project`] returns every row the projection transaction writes: ownership decisions,
//! `leads` rows, stage visits and transitions, SLA clocks, funnel-cell deltas and the leads
//! queued for the credits worker. No I/O, no clock: the same inputs give the same rows, so
//! a replay from offset 0 in any batching gives the rows of one fold of the whole log
//! (`tests/batching.rs`).
//!
//! # Layout
//! - [`batch`]: [`project`], the rows of one batch.
//! - [`ownership`]: the batch's `OwnershipRequested` intents decided in log order.
//! - [`identity`]: the batch's merge/unmerge intents decided in log order, and which timeline
//!   (root) each lead's facts belong to.
//! - [`clocks`]: a lead's SLA clocks as stored rows (with their alerts' ids).
//! - [`funnel`]: the pre-aggregated funnel: which cell a lead counts in, the cells a batch
//!   moves (day, block, month), and which cells a date range reads.
//! - `logged`: [`Logged`], an event with its place in the log.
//! - [`credits`]: what the credits worker recomputes, and what changed against the stored rows.
//! - [`derivations`]: what the projection derives with (each tenant's SLA policy set).
//! - [`spend`]: the batch's marketing spend statements (no lead's facts), latest per period.
//! - [`accounts`]: the batch's account facts (target-account listings, account rulings on
//!   claims and assignments), applied in each account key's log order.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod batch;
pub mod clocks;
pub mod credits;
pub mod derivations;
pub mod funnel;
pub mod identity;
mod logged;
pub mod ownership;
pub mod spend;

pub use batch::{asks_for_owner, project, Batch, LeadRow, Projected, StageRows};
pub use clocks::ClockRow;
pub use derivations::Derivations;
pub use identity::{IdentityRow, Regroup};
/// A lead's feedback completeness, as its `leads` row stores it.
pub use leadledger_sla::feedback::LeadFeedback;
pub use logged::Logged;
pub use ownership::DecisionRow;
pub use spend::SpendRow;
