//! What every handler starts from: the request's tenant (the one place it is decided,
//! [`crate::tenant`]), its consistency token waited for within the request's deadline, and
//! the paging every listing shares. The trace context is [`crate::trace`].

use std::time::Duration;

use leadledger_api::ApiError;
use leadledger_store::applied::Applied;
use leadledger_store::Store;
use tonic::Request;

use crate::{tenant, token::Token};

/// How long a query waits for its consistency token when the client set no deadline.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// The read side every handler of the read models shares: the store, the events topic, and
/// the process's watcher of what the projection has applied.
#[derive(Clone)]
pub struct ReadContext {
    store: Store,
    topic: String,
    applied: Applied,
}

impl ReadContext {
    /// Admits a request: decides its tenant and waits for its consistency token.
    pub async fn admit<T>(
        &self,
        request: &Request<T>,
        tenant_id: &str,
        token: &str,
    ) -> Result<String, ApiError> {
        let tenant = tenant::resolve(request.metadata(), tenant_id)?;
        self.wait_for(request, token).await?;
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
        }
    }

    /// Waits until the projection has applied `token`, until shortly before the request's
    /// deadline (`grpc-timeout`) or [`DEFAULT_WAIT`].
    pub async fn wait_for<T>(&self, request: &Request<T>, token: &str) -> Result<(), ApiError> {
        self.wait_on(&self.applied, request, token).await
    }

    /// [`ReadContext::wait_for`] against another projection's checkpoints (the precomputed
    /// credits keep their own).
    pub async fn wait_on<T>(
        &self,
        applied: &Applied,
        request: &Request<T>,
        token: &str,
    ) -> Result<(), ApiError> {
        let Some(token) = Token::parse(token)? else {
            return Ok(());
        };
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
                t.saturating_sub(margin)
            })
            .unwrap_or(DEFAULT_WAIT);
        let deadline = tokio::time::Instant::now() + budget;
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
            })
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
