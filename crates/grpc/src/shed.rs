//! Load shedding: a call that would only queue behind work this process cannot finish soon
//! is refused at once with `UNAVAILABLE` (retryable, with `RetryInfo`) instead of waiting
//! out its deadline. Two resources are guarded:
//!
//! - **The log's queue** ([`LogBudget`]): events handed to the producer and not yet
//!   acknowledged by the broker. A call takes room for all its events before any is sent,
//!   so a refused call appends nothing and an admitted one is never cut in half by a full
//!   queue. The room is given back when the last acknowledgement (or failure) arrives.
//!   Ingest's events and the ownership commands' intents share it ([`LogBudget::send`]).
//! - **The database pool** of the read side: a read that gets no connection within
//!   `limits.db_wait_ms` is refused (`leadledger_store::StoreError::is_saturated`, mapped in
//!   the store's error contract). Both are counted by `leadledger_store::count_shed` under
//!   [`SHED`], which this module describes.
//!
//! Per-key limits (rate, concurrency) are the gate's ([`crate::auth::gate`]); these are the
//! process's own, whoever calls.

use leadledger_api::error::UNAVAILABLE_RETRY_AFTER;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_log::{EventProducer, LogError, Position};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Calls refused to protect a saturated resource, by `resource` (`log_queue`, `db_pool`).
pub use leadledger_store::SHED_METRIC as SHED;

/// The default room in the log's queue (`limits.log_queue`).
pub const DEFAULT_LOG_QUEUE: u32 = 20_000;

/// Declares the shedding metric.
pub fn describe() {
    metrics::describe_counter!(
        SHED,
        "calls refused with UNAVAILABLE because a resource of the process was saturated, by \
         resource (log_queue: events awaiting the broker's acknowledgement; db_pool: no \
         database connection free within limits.db_wait_ms)"
    );
}

/// Room for events awaiting the broker's acknowledgement (`limits.log_queue` events).
#[derive(Clone, Debug)]
pub struct LogBudget {
    room: Arc<Semaphore>,
    limit: u32,
}

/// Room taken for one call's events; given back when dropped.
#[derive(Debug)]
pub struct LogRoom(#[allow(dead_code)] OwnedSemaphorePermit);

impl LogBudget {
    /// Room for `limit` events in flight at once (at least 1).
    pub fn new(limit: u32) -> Self {
        let limit = limit.max(1);
        Self {
            room: Arc::new(Semaphore::new(limit as usize)),
            limit,
        }
    }

    /// Events in flight now.
    pub fn in_flight(&self) -> u32 {
        self.limit - self.room.available_permits() as u32
    }

    /// Takes room for `events` events, all or none: `UNAVAILABLE` when the queue holds too
    /// many already (nothing of the call may then be sent).
    pub fn admit(&self, events: usize) -> Result<LogRoom, ApiError> {
        let n = u32::try_from(events.max(1)).unwrap_or(u32::MAX);
        match self.room.clone().try_acquire_many_owned(n) {
            Ok(permit) => Ok(LogRoom(permit)),
            Err(_) => {
                leadledger_store::count_shed("log_queue");
                Err(ApiError::Unavailable(format!(
                    "overloaded: {} events already await the log's acknowledgement (limit \
                     {}, limits.log_queue); nothing of this call was appended; retry after \
                     {} ms",
                    self.in_flight(),
                    self.limit,
                    UNAVAILABLE_RETRY_AFTER.as_millis()
                )))
            }
        }
    }
}

/// What the log answered for events sent through [`LogBudget::send`]: the events and their
/// positions, or the producer's error.
pub type Sent = (Vec<pb::Event>, Result<Vec<Position>, LogError>);

impl LogBudget {
    /// Sends `events` once room for all of them is taken ([`LogBudget::admit`]), in a task
    /// of its own that keeps the room until the broker has answered for the last one: a
    /// caller that goes away (its deadline) leaves its records in the producer's queue, and
    /// they go on counting until then.
    pub async fn send(
        &self,
        producer: &EventProducer,
        events: Vec<pb::Event>,
    ) -> Result<Sent, ApiError> {
        let room = self.admit(events.len())?;
        let producer = producer.clone();
        tokio::spawn(async move {
            let result = producer.append(&events).await;
            drop(room);
            (events, result)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("the append task failed: {e}")))
    }
}

impl Default for LogBudget {
    fn default() -> Self {
        Self::new(DEFAULT_LOG_QUEUE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn a_call_takes_room_for_all_its_events_or_none() {
        let budget = LogBudget::new(10);
        let first = budget.admit(6).expect("room for 6");
        assert_eq!(budget.in_flight(), 6);
        let refused = budget.admit(5).expect_err("only 4 left");
        assert_eq!(tonic::Status::from(refused).code(), Code::Unavailable);
        // A refusal takes nothing: 4 still fit.
        let second = budget.admit(4).expect("room for 4");
        assert_eq!(budget.in_flight(), 10);
        drop(first);
        assert_eq!(budget.in_flight(), 4);
        assert!(budget.admit(6).is_ok());
        drop(second);
        assert_eq!(budget.in_flight(), 0);
    }
}
