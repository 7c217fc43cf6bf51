//! What every handler starts from: the request's tenant (the one place it is decided,
//! [`crate::tenant`]), its consistency token waited for within the request's deadline, and
//! the paging every listing shares. The trace context is [`crate::trace`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use leadledger_api::ApiError;
use leadledger_log::EventProducer;
use leadledger_projection::Derivations;
use leadledger_store::applied::Applied;
use leadledger_store::Store;
use tokio_util::sync::CancellationToken;
use tonic::Request;

use crate::{tenant, token::Token};

/// How long a query waits for its consistency token when the client set no deadline.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// Longest a query waits for its consistency token whatever its deadline (a client's
/// deadline of an hour must not hold a task and a watcher slot for an hour).
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// The read side every handler of the read models shares: the store, the events topic, and
/// the process's watcher of what the projection has applied.
#[derive(Clone)]
pub struct ReadContext {
    store: Store,
    topic: String,
    applied: Applied,
    ends: Option<LogEnds>,
    closing: CancellationToken,
    /// The policies the projector derives clocks and feedback with: queries at a cut of the
    /// log derive them again from the facts of then.
    derive: Arc<Derivations>,
}

impl ReadContext {
    /// Admits a request: decides its tenant and waits for its consistency token.
    pub async fn admit<T>(
        &self,
        request: &Request<T>,
        tenant_id: &str,
        token: &str,
    ) -> Result<String, ApiError> {
        let tenant = tenant::resolve(request, tenant_id)?;
        self.wait_for(request, &tenant, token).await?;
        Ok(tenant)
    }

    /// The events topic the read models come from.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The process's watcher of the core projection's checkpoints.
    pub fn applied(&self) -> &Applied {
        &self.applied
    }

    /// The read-model store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The read context over `store` for the events topic `topic`. Starts the process's
    /// checkpoint watcher, so it must be called inside a tokio runtime.
    pub fn new(store: Store, topic: &str) -> Self {
        Self {
            applied: Applied::spawn(store.clone(), topic),
            store,
            topic: topic.to_string(),
            ends: None,
            closing: CancellationToken::new(),
            derive: Arc::default(),
        }
    }

    /// The context with these policies (the process's `[sla]` configuration; default: the
    /// shipped defaults).
    pub fn with_policies(mut self, derive: Arc<Derivations>) -> Self {
        self.derive = derive;
        self
    }

    /// The policies queries at a cut derive clocks and feedback with.
    pub fn policies(&self) -> &Derivations {
        &self.derive
    }

    /// Cancelled when the server hosting this context starts its shutdown drain: streams
    /// that would never end by themselves (`WatchSla`) end then.
    pub fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }

    /// Checks tokens against the log's end offsets through `producer`'s connection: a token
    /// naming a position no write has produced is refused at once instead of waiting for
    /// its deadline. Without it such a token waits like any other.
    pub fn with_log_ends(mut self, producer: EventProducer) -> Self {
        self.ends = Some(LogEnds::new(producer, &self.topic));
        self
    }

    /// Waits until the projection has applied `token` (one or several tokens of `tenant`),
    /// until shortly before the request's deadline (`grpc-timeout`, at most [`MAX_WAIT`]) or
    /// [`DEFAULT_WAIT`].
    pub async fn wait_for<T>(
        &self,
        request: &Request<T>,
        tenant: &str,
        token: &str,
    ) -> Result<(), ApiError> {
        self.wait_on(&self.applied, request, tenant, token).await
    }

    /// [`ReadContext::wait_for`] against another projection's checkpoints (the precomputed
    /// credits keep their own).
    pub async fn wait_on<T>(
        &self,
        applied: &Applied,
        request: &Request<T>,
        tenant: &str,
        token: &str,
    ) -> Result<(), ApiError> {
        let Some(token) = Token::parse(token)? else {
            return Ok(());
        };
        if token.tenant != tenant {
            return Err(ApiError::PermissionDenied(
                "the consistency token was issued to another tenant".into(),
            ));
        }
        if token.topic != self.topic {
            return Err(ApiError::invalid_field(
                "consistency_token",
                format!(
                    "names topic {} but this service reads {}",
                    token.topic, self.topic
                ),
            ));
        }
        // Answer before the client's own deadline fires (it would see CANCELLED, not the
        // reason): a tenth of the deadline, between 20 and 250 ms, is kept for the reply.
        let budget = grpc_timeout(request)
            .map(|t| {
                let margin = (t / 10).clamp(Duration::from_millis(20), Duration::from_millis(250));
                t.saturating_sub(margin).min(MAX_WAIT)
            })
            .unwrap_or(DEFAULT_WAIT);
        let started = tokio::time::Instant::now();
        let deadline = started + budget;
        // The partitions this read waits for (none: it does not wait).
        let pending = token.pending(&applied.current());
        let covered = pending.is_empty();
        if let Some(ends) = &self.ends {
            if !covered {
                // Within the same budget: the check queues behind other requests' checks.
                tokio::time::timeout_at(deadline, ends.check(&token))
                    .await
                    .map_err(|_| {
                        ApiError::NotYetConsistent(format!(
                            "the consistency token could not be checked within {} ms; retry",
                            budget.as_millis()
                        ))
                    })??;
            }
        }
        applied
            .wait_for(|a| token.satisfied_by(a), deadline)
            .await
            .map_err(|applied| {
                ApiError::NotYetConsistent(format!(
                    "the projection has not yet applied the consistency token's positions \
                 (waited {} ms; applied up to {applied:?}, token needs {:?}); retry later",
                    budget.as_millis(),
                    token.offsets
                ))
            })?;
        if !covered {
            crate::trace::waited_for(applied.batch_traces(pending), started.elapsed());
        }
        Ok(())
    }
}

/// The log's end offsets, asked of the broker only when a token goes past the last answer
/// (one question at a time: a flood of forged tokens is a queue of cheap metadata calls, not
/// a pile of parked requests).
#[derive(Clone)]
struct LogEnds {
    producer: EventProducer,
    topic: String,
    known: Arc<tokio::sync::Mutex<Known>>,
}

/// The end offsets last read, and when the whole topic (its partition list) was last read.
#[derive(Default)]
struct Known {
    ends: BTreeMap<i32, i64>,
    listed_at: Option<tokio::time::Instant>,
}

/// How long a partition list read from the broker is trusted: a token naming a partition
/// it lacks is refused without asking again (partitions are only ever added).
const LISTED_FOR: Duration = Duration::from_secs(5);

impl LogEnds {
    fn new(producer: EventProducer, topic: &str) -> Self {
        Self {
            producer,
            topic: topic.to_string(),
            known: Arc::default(),
        }
    }

    async fn check(&self, token: &Token) -> Result<(), ApiError> {
        let mut known = self.known.lock().await;
        if token.beyond(&known.ends).is_none() {
            return Ok(());
        }
        // A partition not seen: the whole topic through its metadata (which lists the
        // partitions there are), unless it was listed a moment ago. Otherwise only the
        // token's partitions, one watermark request each.
        let partitions: Vec<i32> = token.offsets.keys().copied().collect();
        let unseen = partitions.iter().any(|p| !known.ends.contains_key(p));
        let listed_lately = known.listed_at.is_some_and(|at| at.elapsed() < LISTED_FOR);
        if !(unseen && listed_lately) {
            let (producer, topic) = (self.producer.clone(), self.topic.clone());
            let ends = tokio::task::spawn_blocking(move || {
                let timeout = Duration::from_secs(5);
                if unseen {
                    producer.end_offsets(&topic, timeout)
                } else {
                    producer.end_offsets_of(&topic, &partitions, timeout)
                }
            })
            .await
            .map_err(|e| ApiError::Internal(format!("end offsets task: {e}")))?
            .map_err(|e| {
                ApiError::Unavailable(format!("cannot read the log's end offsets: {e}"))
            })?;
            if unseen {
                known.listed_at = Some(tokio::time::Instant::now());
            }
            known.ends.extend(ends);
        }
        match token.beyond(&known.ends) {
            None => Ok(()),
            // The end offset itself is not said: it would tell any tenant how much all
            // tenants write.
            Some((p, o)) => Err(ApiError::invalid_field(
                "consistency_token",
                format!(
                    "names offset {o} of partition {p}, past the log's end: no write produced \
                     this token"
                ),
            )),
        }
    }
}

/// The request deadline from the `grpc-timeout` header.
fn grpc_timeout<T>(request: &Request<T>) -> Option<Duration> {
    let v = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let (num, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = num.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// `page_size` of a request: 0 → 100, else 1..1000.
pub(crate) fn page_size(n: u32) -> Result<i64, ApiError> {
    match n {
        0 => Ok(100),
        1..=1000 => Ok(i64::from(n)),
        _ => Err(ApiError::invalid_field("page_size", "must be 1..1000")),
    }
}

/// [`page_size`] for a request that reports every problem at once: an out-of-range size is a
/// violation in `v` (and 0 returned).
pub(crate) fn page_size_or_violation(v: &mut leadledger_domain::Violations, n: u32) -> i64 {
    page_size(n).unwrap_or_else(|_| {
        v.add("page_size", "must be 1..1000");
        0
    })
}

/// A listing's page from the rows read for it (`page_size + 1` of them): the first
/// `page_size`, and whether more follow.
pub(crate) fn take_page<T>(mut rows: Vec<T>, page_size: i64) -> (Vec<T>, bool) {
    let more = rows.len() as i64 > page_size;
    rows.truncate(usize::try_from(page_size).unwrap_or(100));
    (rows, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_at_most_its_size_and_says_whether_more_follow() {
        assert_eq!(take_page(vec![1, 2, 3], 2), (vec![1, 2], true));
        assert_eq!(take_page(vec![1, 2], 2), (vec![1, 2], false));
        assert_eq!(take_page(Vec::<i32>::new(), 2), (vec![], false));
        assert_eq!(page_size(0).ok(), Some(100));
        assert!(page_size(1001).is_err());
    }
}
