//! Outgoing webhooks: each SLA alert and escalation step a subscription's filters let
//! through is POSTed to its URL, signed, in log order per partition (so in order per lead),
//! retried with backoff, and given up into a dead-letter list after `max_attempts` failures
//! (docs/SLA.md, "Webhooks").
//!
//! # Delivery
//! - One deliverer at a time across processes (advisory lock, like the SLA worker); every
//!   `tick` it reads the enabled subscriptions and, for each (up to `concurrency` at once),
//!   the notices after its stored position per partition and below the core checkpoints (so
//!   every notice read is committed, and none can appear behind the position later).
//! - Per subscription and partition, notices go one at a time, in offset order. A 2xx answer
//!   moves the position past the notice; any other answer, an error or no answer within
//!   `timeout` counts a failure, and that partition waits `backoff` before trying the same
//!   notice again (the ones behind it wait too: order per lead is kept). After
//!   `max_attempts` failures the notice goes to `webhook_dead_letters` with its body and the
//!   position moves past it.
//! - Position, failures and the next attempt's time are stored after every answer, so a
//!   restart resumes where it stood: at least once, and twice only for a notice answered
//!   just before a crash. The `Idempotency-Key` header (the event id) lets the receiver drop
//!   the repeat.
//!
//! # Layout
//! - `sign`: the signature and the backoff schedule (pure).
//! - `notice`: the JSON body of a notice.
//! - [`WebhookConfig`], [`run`]; one subscription's turn in `Deliverer::serve`.

pub mod notice;
pub mod sign;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use leadledger_store::checkpoints::{self, CORE};
use leadledger_store::sla_reports::{self, AlertFilter, AlertRow};
use leadledger_store::webhooks::{self, Cursor, DeadLetter, Subscription};
use leadledger_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

use crate::Shutdown;

/// The session advisory lock electing one deliverer ("llwhk").
pub const LOCK_KEY: i64 = 0x006c_6c77_686b;

/// Notices read per subscription and turn.
const PAGE: i64 = 200;

/// Settings of the webhook deliverer (`webhooks.*`).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Pause between two turns over the subscriptions.
    pub tick: Duration,
    /// Longest wait for an answer.
    pub timeout: Duration,
    /// Failures after which a notice is given up.
    pub max_attempts: u32,
    /// Wait after the first failure; doubled after each next one.
    pub backoff_base: Duration,
    /// Longest wait between two attempts.
    pub backoff_max: Duration,
    /// Subscriptions served at once.
    pub concurrency: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(500),
            timeout: Duration::from_secs(10),
            max_attempts: 8,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            concurrency: 8,
        }
    }
}

/// Why a term of the deliverer ended.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("webhook client: {0}")]
    Client(String),
}

impl From<sqlx::Error> for WebhookError {
    fn from(e: sqlx::Error) -> Self {
        WebhookError::Store(e.into())
    }
}

/// What the deliverer works with.
#[derive(Clone)]
pub struct Deps {
    pub store: Store,
    /// The events topic (its core checkpoints bound what is read).
    pub topic: String,
    pub cfg: WebhookConfig,
}

/// Runs until `stop` is cancelled. Errors end the current term; the deliverer pauses a second
/// and competes for the lock again.
pub async fn run(deps: Deps, stop: Shutdown) {
    while !stop.is_cancelled() {
        if let Err(e) = term(&deps, &stop).await {
            tracing::warn!(error = %e, "webhooks: retrying in 1 s");
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

async fn term(deps: &Deps, stop: &CancellationToken) -> Result<(), WebhookError> {
    let Some(mut lock) = crate::singleton::elect(&deps.store, LOCK_KEY, stop).await? else {
        return Ok(());
    };
    let client = reqwest::Client::builder()
        .timeout(deps.cfg.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("leadledger/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| WebhookError::Client(e.to_string()))?;
    let d = Deliverer {
        store: &deps.store,
        cfg: &deps.cfg,
        client,
    };
    tracing::info!("webhooks: elected");
    while !stop.is_cancelled() {
        // The lock lives with its connection: a query on it fails once it is gone.
        let applied = checkpoints::load(&mut lock, CORE, &deps.topic).await?;
        let subs: Vec<Subscription> = webhooks::all(&deps.store.pool, None)
            .await?
            .into_iter()
            .filter(|s| s.disabled_at.is_none())
            .collect();
        let applied = Arc::new(applied);
        let results: Vec<Result<(), WebhookError>> = futures::stream::iter(subs)
            .map(|s| {
                let applied = applied.clone();
                let d = &d;
                async move { d.serve(&s, &applied).await }
            })
            .buffer_unordered(deps.cfg.concurrency.max(1))
            .collect()
            .await;
        for r in results {
            r?;
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(deps.cfg.tick) => {}
        }
    }
    Ok(())
}

struct Deliverer<'a> {
    store: &'a Store,
    cfg: &'a WebhookConfig,
    client: reqwest::Client,
}

impl Deliverer<'_> {
    /// One turn of one subscription: its due notices, in order per partition.
    async fn serve(
        &self,
        sub: &Subscription,
        applied: &BTreeMap<i32, i64>,
    ) -> Result<(), WebhookError> {
        let pool = &self.store.pool;
        let now = Utc::now();
        let mut cursors = webhooks::cursors(pool, &sub.subscription_id).await?;
        let mut waiting: HashSet<i32> = cursors
            .values()
            .filter(|c| c.next_attempt_at.is_some_and(|t| t > now))
            .map(|c| c.log_partition)
            .collect();
        // A partition waiting for its next attempt is read past its end, so a page is not
        // filled with notices of one held partition while the others have some due.
        let after: BTreeMap<i32, i64> = cursors
            .iter()
            .map(|(p, c)| {
                let held = waiting.contains(p);
                (*p, if held { i64::MAX } else { c.last_offset })
            })
            .collect();
        let filter = AlertFilter {
            team: sub.team.clone(),
            rep_id: sub.rep_id.clone(),
            escalations: sub.kinds.iter().any(|k| k == "escalated"),
            segment: sub.segment.clone(),
            region: sub.region.clone(),
        };
        let rows =
            sla_reports::alerts(pool, &sub.tenant_id, &filter, &after, applied, PAGE).await?;
        for row in rows {
            let p = row.log_partition;
            if waiting.contains(&p) {
                continue;
            }
            let mut c = cursors.remove(&p).unwrap_or(Cursor {
                log_partition: p,
                last_offset: -1,
                attempts: 0,
                next_attempt_at: None,
                last_error: String::new(),
            });
            let wanted = notice::kind(&row).is_some_and(|k| sub.kinds.iter().any(|x| x == k));
            let body = notice::body(sub, &row).filter(|_| wanted);
            let Some(body) = body else {
                // Not for this subscription: move past it.
                c.last_offset = row.log_offset;
                webhooks::save(pool, &sub.subscription_id, &c, None).await?;
                cursors.insert(p, c);
                continue;
            };
            let dead = match self.post(sub, &row, &body).await {
                Ok(()) => {
                    metrics::counter!(crate::gauges::WEBHOOK_DELIVERIES, "outcome" => "delivered")
                        .increment(1);
                    c = past(c, row.log_offset);
                    None
                }
                Err(why) => {
                    c.attempts += 1;
                    c.last_error.clone_from(&why);
                    if u32::try_from(c.attempts).unwrap_or(u32::MAX) >= self.cfg.max_attempts {
                        metrics::counter!(
                            crate::gauges::WEBHOOK_DELIVERIES,
                            "outcome" => "dead_lettered"
                        )
                        .increment(1);
                        tracing::warn!(
                            subscription = %sub.subscription_id,
                            event = %row.event_id,
                            attempts = c.attempts,
                            error = %why,
                            "webhooks: notice given up (dead letter)"
                        );
                        let dead = dead_letter(sub, &row, &c, body);
                        c = past(c, row.log_offset);
                        Some(dead)
                    } else {
                        metrics::counter!(
                            crate::gauges::WEBHOOK_DELIVERIES,
                            "outcome" => "failed"
                        )
                        .increment(1);
                        let wait = sign::backoff(
                            u32::try_from(c.attempts).unwrap_or(u32::MAX),
                            self.cfg.backoff_base,
                            self.cfg.backoff_max,
                        );
                        c.next_attempt_at =
                            Some(Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default());
                        waiting.insert(p);
                        None
                    }
                }
            };
            webhooks::save(pool, &sub.subscription_id, &c, dead.as_ref()).await?;
            cursors.insert(p, c);
        }
        Ok(())
    }

    /// One attempt: `Ok` on a 2xx answer, else why not.
    async fn post(&self, sub: &Subscription, row: &AlertRow, body: &[u8]) -> Result<(), String> {
        let ts = Utc::now().timestamp();
        let sent = self
            .client
            .post(&sub.url)
            .header("content-type", "application/json")
            .header("idempotency-key", row.event_id.to_string())
            .header("leadledger-event-id", row.event_id.to_string())
            .header("leadledger-subscription-id", &sub.subscription_id)
            .header("leadledger-timestamp", ts.to_string())
            .header(
                "leadledger-signature",
                sign::signature(&sub.secret, ts, body),
            )
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(e) if e.is_timeout() => Err(format!(
                "no answer within {} ms",
                self.cfg.timeout.as_millis()
            )),
            Err(e) if e.is_connect() => Err(format!("cannot connect: {e}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The position moved past the notice at `offset` (delivered or given up): the next one has
/// no failures yet.
fn past(c: Cursor, offset: i64) -> Cursor {
    Cursor {
        last_offset: offset,
        attempts: 0,
        next_attempt_at: None,
        last_error: String::new(),
        ..c
    }
}

fn dead_letter(sub: &Subscription, row: &AlertRow, c: &Cursor, body: Vec<u8>) -> DeadLetter {
    DeadLetter {
        subscription_id: sub.subscription_id.clone(),
        event_id: row.event_id,
        tenant_id: sub.tenant_id.clone(),
        lead_id: row.lead_id.clone(),
        log_partition: row.log_partition,
        log_offset: row.log_offset,
        attempts: c.attempts,
        last_error: c.last_error.clone(),
        failed_at: Utc::now(),
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
