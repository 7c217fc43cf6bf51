//! Retrying what failed for a passing reason (the database restarting, a connection lost):
//! the one backoff of the workers, 100 ms doubling up to 5 s, with no limit on attempts (a
//! worker waits for its database; shutdown is what ends it).
//!
//! Kept by hand rather than taken from a retry crate: the projector's batch loop decides on
//! each failure with the current pause in hand (on shutdown it gives up once the pause has
//! reached its cap), which a closure-driven retry combinator does not expose; this is the
//! whole of it.

use std::future::Future;
use std::time::Duration;

use leadledger_store::StoreError;

/// The first pause.
const FIRST: Duration = Duration::from_millis(100);
/// The longest pause.
pub(crate) const CAP: Duration = Duration::from_secs(5);

/// Pauses that double from [`FIRST`] up to [`CAP`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pause: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self { pause: FIRST }
    }

    /// The pause the next [`Backoff::wait`] sleeps.
    pub(crate) fn pause(&self) -> Duration {
        self.pause
    }

    /// Sleeps the current pause, then doubles it (up to [`CAP`]).
    pub(crate) async fn wait(&mut self) {
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(CAP);
    }
}

/// Calls `f` until it succeeds or fails with an error that is not transient.
pub(crate) async fn transient<T, F, Fut>(mut f: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut backoff = Backoff::new();
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, retry_in_ms = backoff.pause().as_millis(), "database unavailable; retrying");
                backoff.wait().await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pauses_double_up_to_the_cap() {
        let mut b = Backoff::new();
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(b.pause().as_millis());
            b.wait().await;
        }
        assert_eq!(seen, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_only() {
        let mut calls = 0;
        let got = transient(|| {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(StoreError::Db(sqlx::Error::PoolTimedOut))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(got.ok(), Some(3));
        let mut calls = 0;
        let got: Result<(), _> = transient(|| {
            calls += 1;
            async { Err(StoreError::Corrupt("bad row".into())) }
        })
        .await;
        assert!(matches!(got, Err(StoreError::Corrupt(_))));
        assert_eq!(calls, 1);
    }
}
