//! The credits worker: keeps the precomputed attribution credits level with the core
//! projection, one step at a time ([`step`]: what a step recomputes is
//! `leadledger_projection::credits`, its rows are `leadledger_store::credits`).
//!
//! Runs beside the projector (roles `projector` and `all`). Several processes may run it;
//! one at a time works, elected by a session advisory lock on a connection of its own, so
//! the additive totals are never written by two workers at once. If that connection drops,
//! the lock goes with it and another process (or this one, after a pause) takes over.

use std::time::Duration;

use leadledger_attribution::precompute::ModelSet;
use leadledger_store::checkpoints::NOTIFY_CHANNEL;
use leadledger_store::{credits, lock, Store, StoreError};
use sqlx::{Connection, PgConnection};
use tokio_util::sync::CancellationToken;

use crate::Shutdown;

mod step;

pub use step::{step, step_into, StepOutcome};

/// What the credits worker works with.
#[derive(Debug, Clone)]
pub struct Deps {
    pub store: Store,
    /// The events topic whose core checkpoints the credits follow.
    pub topic: String,
    pub cfg: CreditsConfig,
}

/// Settings of the credits worker.
#[derive(Debug, Clone)]
pub struct CreditsConfig {
    /// The models whose credits are kept.
    pub set: ModelSet,
    /// Queued rows taken per transaction.
    pub batch: i64,
    /// Longest wait between two looks at the queue without a notification.
    pub poll: Duration,
}

impl CreditsConfig {
    pub fn new(set: ModelSet) -> Self {
        Self {
            set,
            batch: 1000,
            poll: Duration::from_millis(100),
        }
    }
}

/// Runs until `stop` is cancelled. Errors are logged and retried after a pause: credits are
/// derived data and must not take the projector down with them.
pub async fn run(deps: Deps, stop: Shutdown) {
    let Deps { store, topic, cfg } = deps;
    while !stop.is_cancelled() {
        match lead(&store, &topic, &cfg, &stop).await {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(error = %e, "credits worker: retrying in 1 s");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// Waits to become the worker, then works until `stop` or an error.
async fn lead(
    store: &Store,
    topic: &str,
    cfg: &CreditsConfig,
    stop: &CancellationToken,
) -> Result<(), StoreError> {
    let Some(mut conn) = crate::singleton::elect(store, credits::LOCK_KEY, stop).await? else {
        return Ok(());
    };
    if credits::ensure_model_set(&mut conn, &cfg.set).await? {
        tracing::info!(
            models = cfg.set.models.len(),
            "credits: model set changed or new; re-projecting every lead's credits"
        );
        bulk_drain(&mut conn, topic, cfg).await?;
    }
    let mut listener = store.listener().await.ok();
    if let Some(l) = listener.as_mut() {
        if l.listen(NOTIFY_CHANNEL).await.is_err() {
            listener = None;
        }
    }
    while !stop.is_cancelled() {
        let out = step::step(&mut conn, &cfg.set, topic, cfg.batch).await?;
        // This connection is detached from the pool (it holds the lock), so the pool's
        // shrink-on-release does not reach it: a step's multi-megabyte writes would stay
        // allocated in its buffers for good.
        conn.shrink_buffers();
        if out.changed > 0 {
            tracing::debug!(?out, "credits step");
        }
        if !out.caught_up {
            continue;
        }
        // Idle: a rebuild may have been asked for (`rebuild` from another process).
        if credits::ensure_model_set(&mut conn, &cfg.set).await? {
            tracing::info!("credits: rebuild requested; re-projecting every lead's credits");
            bulk_drain(&mut conn, topic, cfg).await?;
            continue;
        }
        // Level with the core projection: wait for it to commit more.
        let wait = async {
            match listener.as_mut() {
                Some(l) => {
                    let _ = tokio::time::timeout(cfg.poll, l.try_recv()).await;
                }
                None => tokio::time::sleep(cfg.poll).await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = wait => {}
        }
    }
    Ok(())
}

/// Works through a freshly rebuilt queue gathering the totals in memory, writes them once,
/// then steps normally until level (which stores the checkpoints).
async fn bulk_drain(
    conn: &mut PgConnection,
    topic: &str,
    cfg: &CreditsConfig,
) -> Result<(), StoreError> {
    let mut totals = credits::BulkTotals::new();
    // Larger steps: nothing waits on a rebuild's intermediate states.
    let batch = cfg.batch.max(5_000);
    while !step::step_into(conn, &cfg.set, topic, batch, Some(&mut totals))
        .await?
        .caught_up
    {}
    credits::write_bulk_totals(conn, cfg.set.models.len(), totals).await?;
    while !step::step(conn, &cfg.set, topic, cfg.batch)
        .await?
        .caught_up
    {}
    Ok(())
}

/// Brings the credits of a store that no credits worker serves (a rebuild's shadow schema)
/// level with its core projection: a first call computes every lead's credits in bulk; later
/// calls step through what the projection queued since. No advisory lock: nobody else
/// writes that store.
pub async fn level_alone(
    conn: &mut PgConnection,
    topic: &str,
    cfg: &CreditsConfig,
) -> Result<(), StoreError> {
    if credits::ensure_model_set(conn, &cfg.set).await? {
        bulk_drain(conn, topic, cfg).await?;
    }
    while !step::step(conn, &cfg.set, topic, cfg.batch.max(5_000))
        .await?
        .caught_up
    {}
    Ok(())
}

/// Re-projects every credit and waits until they are level with the core projection
/// again; returns the number of leads re-projected. If no worker runs, this task does the
/// work; if one does, it is asked to and this waits for it (at most `within`).
pub async fn rebuild(
    store: &Store,
    topic: &str,
    cfg: &CreditsConfig,
    within: Duration,
) -> Result<i64, StoreError> {
    let mut conn: PgConnection = store.pool.acquire().await?.detach();
    let leads = credits::lead_count(&mut conn).await?;
    if lock::try_lock(&mut conn, credits::LOCK_KEY).await? {
        credits::rebuild(&mut conn, &cfg.set).await?;
        bulk_drain(&mut conn, topic, cfg).await?;
        lock::unlock(&mut conn, credits::LOCK_KEY).await?;
        return Ok(leads);
    }
    credits::request_rebuild(&mut conn).await?;
    let deadline = tokio::time::Instant::now() + within;
    while !credits::level(&mut conn, topic).await? {
        if tokio::time::Instant::now() > deadline {
            return Err(StoreError::Corrupt(format!(
                "the running credits worker did not finish the rebuild within {within:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(leads)
}
