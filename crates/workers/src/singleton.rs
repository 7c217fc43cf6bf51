//! One worker at a time across processes: a PostgreSQL session advisory lock held on a
//! connection of the worker's own (outside the pool), so the lock lives exactly as long as
//! that connection. Used by the credits worker and the SLA worker, which may run beside every
//! projector but must not work twice.

use std::time::Duration;

use leadledger_store::{lock, Store, StoreError};
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;

/// Waits until this process holds the advisory lock `key`, trying once a second; returns the
/// connection that holds it, or `None` when `stop` is cancelled first.
pub async fn elect(
    store: &Store,
    key: i64,
    stop: &CancellationToken,
) -> Result<Option<PgConnection>, StoreError> {
    let mut conn: PgConnection = store.pool.acquire().await?.detach();
    loop {
        if lock::try_lock(&mut conn, key).await? {
            return Ok(Some(conn));
        }
        tokio::select! {
            _ = stop.cancelled() => return Ok(None),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
