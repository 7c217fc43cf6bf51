//! The SLA worker: appends `SlaAtRisk` / `SlaBreached` alerts for running clocks that crossed
//! a threshold, and (when the policy file has `[routing]`) routes unowned MQLs with
//! `LeadRouted`. Its decisions go to the log, like any fact, and reach the read models
//! through the projector.
//!
//! # Exactly once on the topic
//! Every event it writes has a deterministic id (`sla_clocks.at_risk_event_id` /
//! `breach_event_id`, `derived_event_id(mql, "routed")`), and it writes an id only when
//! that id is neither in `lead_events` nor appended by itself and not yet applied:
//! - one worker at a time: a session advisory lock on a connection of its own (as the
//!   credits worker); every read runs on that connection, so a worker that lost it stops;
//! - on election it reads the topic's end offsets and waits until the core projection's
//!   checkpoints reach them: whatever an earlier incarnation appended (acknowledged or not)
//!   is in `lead_events` from then on;
//! - after that it remembers the ids it appended until it sees them in `lead_events`.
//!
//! A failed append may have written part of its events, so it ends the term: the lock
//! connection is dropped and the next term catches up with the log again.
//!
//! # Time
//! Decisions read "now" from a [`TimeSource`] only ([`WallClock`] in production,
//! [`ManualClock`] in tests). An alert's `occurred_at` is the threshold it reports
//! (`at_risk_at` / `due_at`), a routing's is its MQL's, so the facts do not depend on when
//! the worker happened to run; `recorded_at` is now.
//!
//! # Layout
//! - [`TimeSource`], [`WallClock`], [`ManualClock`]; [`SlaConfig`]; [`run`].
//! - `route` (submodule): rep records and the routing decisions of one tick.
//! - `escalate` (submodule): the escalation steps of one tick.

mod escalate;
mod route;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::Instrument;

use chrono::{DateTime, Utc};
use leadledger_api::convert::internal_event_to_proto;
use leadledger_api::pb;
use leadledger_domain::event::{SlaAlert, SourceRef};
use leadledger_domain::{Event, Payload};
use leadledger_log::{EventProducer, LogError};
use leadledger_sla::TenantPolicies;
use leadledger_store::checkpoints::{self, CORE};
use leadledger_store::due::{self, DueAlert, LOCK_KEY};
use leadledger_store::{Store, StoreError};
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;

use crate::Shutdown;
use uuid::Uuid;

/// `source.system` of the alerts.
pub const ALERT_SOURCE: &str = "leadledger.sla";
/// `source.system` of routing decisions.
pub const ROUTER_SOURCE: &str = "leadledger.router";

/// Where the worker reads "now".
pub trait TimeSource: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct WallClock;

impl TimeSource for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl TimeSource for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Settings of the SLA worker.
#[derive(Clone)]
pub struct SlaConfig {
    /// Each tenant's policy set (its `[routing]` decides whether and how it routes).
    pub policies: Arc<TenantPolicies>,
    /// Pause between two ticks (`sla.tick_ms`).
    pub tick: Duration,
    pub clock: Arc<dyn TimeSource>,
    /// Most alerts, and most routings, appended per tick: a backlog drains over several
    /// ticks instead of one huge append.
    pub chunk: i64,
    /// The account rules per tier (`ownership.account_rules`): an MQL whose account another
    /// rule gives to its owner is routed to that owner.
    pub account_rules: leadledger_domain::account::ownership::Rules,
}

impl SlaConfig {
    /// Wall clock, 500 per tick.
    pub fn new(policies: Arc<TenantPolicies>, tick: Duration) -> Self {
        Self {
            policies,
            tick,
            clock: Arc::new(WallClock),
            chunk: 500,
            account_rules: Default::default(),
        }
    }
}

/// Why a term of the worker ended.
#[derive(Debug, thiserror::Error)]
pub enum SlaError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for SlaError {
    fn from(e: sqlx::Error) -> Self {
        SlaError::Store(e.into())
    }
}

/// What one tick appended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickOutcome {
    pub at_risk: usize,
    pub breached: usize,
    pub escalated: usize,
    pub routed: usize,
}

/// What the SLA worker works with.
#[derive(Clone)]
pub struct Deps {
    pub store: Store,
    /// Appends the alerts and routing decisions.
    pub producer: EventProducer,
    /// The events topic.
    pub topic: String,
    pub cfg: SlaConfig,
}

/// Runs until `stop` is cancelled. Errors end the current term; the worker pauses a second
/// and competes for the lock again.
pub async fn run(deps: Deps, stop: Shutdown) {
    let Deps {
        store,
        producer,
        topic,
        cfg,
    } = deps;
    while !stop.is_cancelled() {
        if let Err(e) = term(&store, &producer, &topic, &cfg, &stop).await {
            tracing::warn!(error = %e, "SLA worker: retrying in 1 s");
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

/// Waits to become the worker, catches up with the log, then ticks until `stop` or an error.
async fn term(
    store: &Store,
    producer: &EventProducer,
    topic: &str,
    cfg: &SlaConfig,
    stop: &CancellationToken,
) -> Result<(), SlaError> {
    let Some(mut conn) = crate::singleton::elect(store, LOCK_KEY, stop).await? else {
        return Ok(());
    };
    if !catch_up(&mut conn, producer, topic, stop).await? {
        return Ok(());
    }
    tracing::info!(topic, "SLA worker: elected and level with the log");
    let mut w = Worker {
        producer,
        cfg,
        pending: HashMap::new(),
        ignored: HashSet::new(),
    };
    while !stop.is_cancelled() {
        let out = w.tick(&mut conn).await?;
        if out != TickOutcome::default() {
            tracing::info!(?out, "SLA worker tick");
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(cfg.tick) => {}
        }
    }
    Ok(())
}

/// Waits until the core projection has applied everything in the log now; false if stopped.
async fn catch_up(
    conn: &mut PgConnection,
    producer: &EventProducer,
    topic: &str,
    stop: &CancellationToken,
) -> Result<bool, SlaError> {
    let (p, t) = (producer.clone(), topic.to_string());
    let ends = tokio::task::spawn_blocking(move || p.end_offsets(&t, Duration::from_secs(10)))
        .await
        .map_err(|e| SlaError::Internal(format!("reading end offsets: {e}")))??;
    loop {
        let at = checkpoints::load(&mut *conn, CORE, topic).await?;
        let behind: i64 = ends
            .iter()
            .map(|(p, end)| (end - at.get(p).copied().unwrap_or(0)).max(0))
            .sum();
        if behind == 0 {
            return Ok(true);
        }
        tracing::debug!(behind, "SLA worker: waiting for the projection");
        tokio::select! {
            _ = stop.cancelled() => return Ok(false),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// An id appended in this term and not yet seen applied.
#[derive(Debug, Clone)]
enum Pending {
    Alert,
    /// An escalation step, with the rep it moved a lead to (an open lead until applied).
    Escalated {
        tenant: String,
        rep: Option<String>,
    },
    /// A routing, with the rep it gave a lead to (counted as an open lead until applied).
    Routed {
        tenant: String,
        rep: Option<String>,
    },
}

struct Worker<'a> {
    producer: &'a EventProducer,
    cfg: &'a SlaConfig,
    pending: HashMap<Uuid, Pending>,
    /// Escalation steps the policy file no longer has: skipped for the term.
    ignored: HashSet<Uuid>,
}

impl Worker<'_> {
    /// One look at the read models (one REPEATABLE READ snapshot), then the appends.
    async fn tick(&mut self, conn: &mut PgConnection) -> Result<TickOutcome, SlaError> {
        let now = self.cfg.clock.now();
        let mut tx = due::snapshot(conn).await?;
        let ids: Vec<Uuid> = self.pending.keys().copied().collect();
        for id in due::applied(&mut tx, &ids).await? {
            self.pending.remove(&id);
        }
        let skip: Vec<Uuid> = self.pending.keys().copied().collect();
        let alerts = due::due_alerts(&mut tx, now, &skip, self.cfg.chunk).await?;
        let escalations = escalate::decide(
            &mut tx,
            &self.cfg.policies,
            &self.pending,
            &mut self.ignored,
            self.cfg.chunk,
            now,
        )
        .await?;
        let routings = route::decide(
            &mut tx,
            &self.cfg.policies,
            &self.cfg.account_rules,
            &self.pending,
            self.cfg.chunk,
            now,
        )
        .await?;
        tx.commit().await?;

        let mut out = TickOutcome::default();
        let mut events = Vec::with_capacity(alerts.len() + escalations.len() + routings.len());
        for a in &alerts {
            if a.breached {
                out.breached += 1;
            } else {
                out.at_risk += 1;
            }
            events.push(alert_event(a, now));
        }
        // Per lead, an alert goes before the steps it precedes (one partition, in order).
        out.escalated = escalations.len();
        events.extend(escalations.iter().map(|(e, _)| e.clone()));
        out.routed = routings.len();
        events.extend(routings.iter().map(|(e, _)| e.clone()));
        self.append(&events).await?;
        for a in &alerts {
            self.pending.insert(a.event_id, Pending::Alert);
        }
        for (e, rep) in escalations {
            let tenant = e.tenant_id;
            self.pending
                .insert(e.event_id, Pending::Escalated { tenant, rep });
        }
        for (e, rep) in routings {
            let tenant = e.tenant_id;
            self.pending
                .insert(e.event_id, Pending::Routed { tenant, rep });
        }
        Ok(out)
    }

    async fn append(&self, events: &[Event]) -> Result<(), SlaError> {
        if events.is_empty() {
            return Ok(());
        }
        // Each batch of the worker's decisions starts a trace of its own.
        let span = tracing::info_span!("sla.append", events = events.len());
        let tc =
            span.in_scope(|| leadledger_log::trace::current_or(&opentelemetry::Context::new()));
        let wire: Vec<pb::Event> = events
            .iter()
            .map(|e| {
                internal_event_to_proto(e, tc.clone()).ok_or_else(|| {
                    SlaError::Internal(format!("{} is not an internal event", e.event_id))
                })
            })
            .collect::<Result<_, _>>()?;
        self.producer.append(&wire).instrument(span).await?;
        Ok(())
    }
}

fn alert_event(a: &DueAlert, now: DateTime<Utc>) -> Event {
    let alert = SlaAlert {
        policy_id: a.policy_id.clone(),
        policy_version: u32::try_from(a.policy_version).unwrap_or(0),
        start_event_id: a.start_event_id,
        started_at: a.started_at,
        due_at: a.due_at,
    };
    let (occurred_at, payload) = if a.breached {
        (a.due_at, Payload::SlaBreached(alert))
    } else {
        (a.at_risk_at, Payload::SlaAtRisk(alert))
    };
    internal_event(
        a.event_id,
        &a.tenant_id,
        &a.lead_id,
        occurred_at,
        now,
        ALERT_SOURCE,
        payload,
    )
}

/// An event the worker writes: the source id is the event id itself.
fn internal_event(
    id: Uuid,
    tenant: &str,
    lead: &str,
    occurred_at: DateTime<Utc>,
    now: DateTime<Utc>,
    system: &str,
    payload: Payload,
) -> Event {
    Event {
        event_id: id,
        tenant_id: tenant.to_string(),
        lead_id: lead.to_string(),
        occurred_at,
        recorded_at: now,
        source: SourceRef {
            system: system.to_string(),
            event_id: id.to_string(),
        },
        schema_version: leadledger_domain::event::FIRST_SCHEMA_VERSION,
        payload,
    }
}
