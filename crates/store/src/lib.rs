//! leadledger's PostgreSQL side: migrations, the projection transaction, checkpoints and the
//! read-model queries. SQL schema lives in `migrations/` (documented in docs/READ_MODELS.md).
//!
//! # Layout
//! - [`db`]: connecting, creating a database, running migrations.
//! - [`projection`]: the projection transaction: a batch's rows (computed by
//!   `leadledger_projection`) and its checkpoints, in ONE transaction.
//! - [`timeline`]: the one reader of stored timelines (the log's bytes, decoded like the log).
//! - [`applied`]: one watcher per process of what a projection has applied (read-your-writes
//!   waits, the SLA alert stream).
//! - [`checkpoints`]: reading checkpoints (seek on assignment, read-your-writes waits).
//! - [`credits`]: the precomputed attribution credits, kept level with the core projection.
//! - [`queries`]: lead lookup, timeline, listing and funnel.
//! - [`reps`]: the rep leaderboard.
//! - [`ownership_queries`]: ownership decisions and account conflicts.
//! - [`sla_queries`]: the SLA report at an instant, the alert stream, partner leakage.
//! - [`sla_worker`]: what the SLA worker reads (due alerts, MQLs to route, rep records).
//! - `columns`: column arrays bound with `UNNEST`, declared once per statement.

#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod applied;
pub mod checkpoints;
mod columns;
pub mod credits;
pub mod db;
mod error;
pub mod ownership_queries;
pub mod projection;
pub mod queries;
pub mod reps;
pub mod sla_queries;
pub mod sla_worker;
pub mod timeline;

pub use db::Store;

pub use error::StoreError;
