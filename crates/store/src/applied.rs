//! What the projection has applied, watched once per process.
//!
//! Queries that carry a consistency token wait until the projector's checkpoints cover it.
//! Rather than every waiting request polling PostgreSQL (thousands of checkpoint reads per
//! second under load, competing with the projector for connections), one task per process
//! keeps the latest checkpoints in a `watch` channel. It reloads them when the projector's
//! transaction commits (`NOTIFY leadledger_applied`, sent inside that transaction, so it is
//! delivered exactly at commit) and at least every [`POLL`] in case a notification is lost
//! (a reconnect, a projector in another process on a database without notifications).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::checkpoints::{self, CORE, NOTIFY_CHANNEL};
use crate::Store;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::time::Instant;

/// Longest time between two reloads without a notification.
pub const POLL: Duration = Duration::from_millis(50);

/// Next offset applied per partition, kept current by a background task.
#[derive(Clone)]
pub struct Applied {
    rx: watch::Receiver<BTreeMap<i32, i64>>,
    /// Per partition, the `traceparent` of the batch that last moved its checkpoint (set
    /// before the checkpoints are published, so a waiter woken by a move finds its batch).
    batches: Arc<RwLock<BTreeMap<i32, String>>>,
}

impl Applied {
    /// Starts the watcher for `topic` (must be called inside a tokio runtime). The task ends
    /// when the last [`Applied`] handle is dropped.
    pub fn spawn(store: Store, topic: &str) -> Self {
        Self::spawn_for(store, topic, CORE, NOTIFY_CHANNEL)
    }

    /// Watches another projection's checkpoints (e.g. the precomputed credits), woken by
    /// its own notification channel.
    pub fn spawn_for(
        store: Store,
        topic: &str,
        projection: &'static str,
        channel: &'static str,
    ) -> Self {
        let (tx, rx) = watch::channel(BTreeMap::new());
        let batches = Arc::new(RwLock::new(BTreeMap::new()));
        tokio::spawn(watch_loop(
            store,
            topic.to_string(),
            projection,
            channel,
            tx,
            batches.clone(),
        ));
        Self { rx, batches }
    }

    /// The `traceparent`s of the batches that last moved the checkpoints of `partitions`
    /// (those whose batch was traced).
    pub fn batch_traces(&self, partitions: impl IntoIterator<Item = i32>) -> Vec<String> {
        let batches = self.batches.read().unwrap_or_else(|e| e.into_inner());
        partitions
            .into_iter()
            .filter_map(|p| batches.get(&p).cloned())
            .collect()
    }

    /// A receiver of the checkpoints, for tasks that react to every move of the projection
    /// (the SLA alert stream) instead of waiting for one token.
    pub fn subscribe(&self) -> watch::Receiver<BTreeMap<i32, i64>> {
        self.rx.clone()
    }

    /// The checkpoints seen last.
    pub fn current(&self) -> BTreeMap<i32, i64> {
        self.rx.borrow().clone()
    }

    /// Whether the checkpoints seen last are `covered` (no waiting).
    pub fn covers(&self, covered: impl Fn(&BTreeMap<i32, i64>) -> bool) -> bool {
        covered(&self.rx.borrow())
    }

    /// Waits until the checkpoints are `covered` (e.g. a consistency token is applied) or
    /// `deadline` passes; on timeout returns the last checkpoints seen.
    pub async fn wait_for(
        &self,
        covered: impl Fn(&BTreeMap<i32, i64>) -> bool,
        deadline: Instant,
    ) -> Result<(), BTreeMap<i32, i64>> {
        let mut rx = self.rx.clone();
        loop {
            if covered(&rx.borrow_and_update()) {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                // Watcher gone or deadline passed.
                Ok(Err(_)) | Err(_) => return Err(rx.borrow().clone()),
            }
        }
    }
}

async fn watch_loop(
    store: Store,
    topic: String,
    projection: &'static str,
    channel: &'static str,
    tx: watch::Sender<BTreeMap<i32, i64>>,
    batches: Arc<RwLock<BTreeMap<i32, String>>>,
) {
    let mut listener: Option<PgListener> = None;
    loop {
        if tx.is_closed() {
            return;
        }
        if listener.is_none() {
            listener = listen(&store, channel).await;
        }
        match checkpoints::load_traced(&store.pool, projection, &topic).await {
            Ok(loaded) => {
                let mut applied = BTreeMap::new();
                let mut traced = BTreeMap::new();
                for (p, (offset, trace)) in loaded {
                    applied.insert(p, offset);
                    if let Some(t) = trace {
                        traced.insert(p, t);
                    }
                }
                *batches.write().unwrap_or_else(|e| e.into_inner()) = traced;
                tx.send_if_modified(|cur| {
                    let changed = *cur != applied;
                    *cur = applied;
                    changed
                });
            }
            Err(e) => tracing::warn!(error = %e, "reading checkpoints"),
        }
        match listener.as_mut() {
            Some(l) => match tokio::time::timeout(POLL, l.try_recv()).await {
                Ok(Ok(Some(_))) | Err(_) => {}
                // The connection dropped: reconnect on the next turn.
                Ok(Ok(None)) | Ok(Err(_)) => listener = None,
            },
            None => tokio::time::sleep(POLL).await,
        }
    }
}

async fn listen(store: &Store, channel: &str) -> Option<PgListener> {
    let mut l = match store.listener().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for checkpoint notifications; polling");
            return None;
        }
    };
    match l.listen(channel).await {
        Ok(()) => Some(l),
        Err(e) => {
            tracing::warn!(error = %e, "LISTEN failed; polling");
            None
        }
    }
}
