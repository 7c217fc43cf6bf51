//! leadledger's PostgreSQL side: migrations, the projection transaction, checkpoints and the
//! read-model queries. SQL schema lives in `migrations/` (documented in docs/READ_MODELS.md).
//!
//! # Layout
//! - [`db`]: connecting, creating a database, running migrations.
//! - [`projection`]: applying a batch of events in ONE transaction with the checkpoint.
//! - [`lead_rows`]: the `leads` rows of folded leads, upserted as column arrays.
//! - [`credits`]: the precomputed attribution credits, kept level with the core projection.
//! - [`funnel_cells`]: the pre-aggregated funnel (per day, per block of days and per
//!   month), moved by "new − old" per re-folded lead.
//! - [`handoff`]: ownership decisions, SLA clocks, feedback completeness (in the projection
//!   transaction).
//! - [`checkpoints`]: reading checkpoints (seek on assignment, read-your-writes waits).
//! - [`queries`]: lead lookup, timeline, listing and funnel.
//! - [`reps`]: the rep leaderboard.
//! - [`ownership_queries`]: ownership decisions and account conflicts.
//! - [`sla_queries`]: the SLA report at an instant, the alert stream, partner leakage.
//! - [`sla_worker`]: what the SLA worker reads (due alerts, MQLs to route, rep records).

#![recursion_limit = "256"]

pub mod checkpoints;
pub mod credits;
pub mod db;
pub mod funnel_cells;
pub mod handoff;
pub mod lead_rows;
pub mod ownership_queries;
pub mod projection;
pub mod queries;
pub mod reps;
pub mod sla_queries;
pub mod sla_worker;

pub use db::Store;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A stored checkpoint is behind one the caller saw committed: the database lost
    /// committed transactions (a crash lost asynchronous commits, or it was restored from a
    /// backup). Applying a later batch would skip the records in between for good; the
    /// projector must read the partition again from the stored checkpoint.
    #[error(
        "checkpoint of {topic}/{partition} is {stored}, behind {committed} seen committed: \
         the database lost committed transactions"
    )]
    CheckpointBehind {
        topic: String,
        partition: i32,
        stored: i64,
        committed: i64,
    },
}

impl StoreError {
    /// Whether retrying later may succeed (connection lost, server restarting, serialization).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => e.code().is_some_and(|c| {
                c.starts_with("08") || c.starts_with("57") || c == "40001" || c == "40P01"
            }),
            StoreError::Db(
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed,
            ) => true,
            _ => false,
        }
    }
}
