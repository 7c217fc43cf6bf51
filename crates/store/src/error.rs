//! The store's errors, and the one place they become the API's error contract.

use leadledger_api::ApiError;

/// Calls refused because a resource of the process was saturated, by `resource`
/// (`log_queue`, `db_pool`); described by `leadledger_grpc::shed`.
pub const SHED_METRIC: &str = "leadledger_shed_total";

/// Counts a call shed because `resource` was saturated.
pub fn count_shed(resource: &'static str) {
    metrics::counter!(SHED_METRIC, "resource" => resource).increment(1);
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A contact could not be sealed or opened (the system's random numbers failed).
    #[error("contact sealing: {0}")]
    Seal(#[from] leadledger_api::sealed::SealError),
    /// An operation refused for what it would do (e.g. a BI grant to a role that reads
    /// every tenant anyway).
    #[error("{0}")]
    Refused(String),
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

    /// Whether the pool had no connection free within its acquire timeout: the database
    /// answers, this process has every connection busy (load shedding, `limits.db_wait_ms`).
    pub fn is_saturated(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::PoolTimedOut))
    }
}

/// How a failed read or write reaches a client: a database that cannot be reached is
/// UNAVAILABLE (safe to retry); anything else is a bug, logged here with its cause and
/// answered as INTERNAL without it.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_saturated() {
            count_shed("db_pool");
            ApiError::Unavailable(
                "overloaded: no read-model database connection of this process came free \
                 within limits.db_wait_ms (all busy, or the database slow to accept a new \
                 one); retry"
                    .into(),
            )
        } else if e.is_transient() {
            ApiError::Unavailable(format!("the read-model database is unavailable: {e}"))
        } else {
            tracing::error!(error = %e, "query failed");
            ApiError::Internal("query failed; see server log".into())
        }
    }
}
