//! The projector: consumes the events topic and applies it to the read models with
//! exactly-once effects and no Kafka transactions.
//!
//! - Each batch is applied in ONE PostgreSQL transaction together with the checkpoint
//!   `(topic, partition, next_offset)`: `batch` reads what the batch needs, has
//!   `leadledger_projection` compute the rows and writes them (`leadledger_store::projection`).
//! - On partition assignment each partition starts at its stored checkpoint (the beginning
//!   when none is stored: PostgreSQL, not the Kafka group, is the arbiter): the offsets are
//!   set in the assignment itself by the rebalance callback ([`PgCheckpoints`]). Records
//!   below the checkpoint that arrive anyway are skipped.
//! - Kafka offsets are committed after PostgreSQL commits, for lag monitoring only.
//! - A record that cannot be decoded is copied to the dead-letter topic (acknowledged before
//!   the checkpoint moves past it) and the projector carries on.
//! - Every projector watches every partition of the topic: one with records past a checkpoint
//!   that has not moved for `stall_after` makes it warn and rejoin its group
//!   ([`crate::stall`]), so a group that handed a partition to nobody that works is noticed.
//!
//! # Layout
//! - this module: the consume loop, rewinds, the stall check.
//! - `batch`: one batch in one transaction (the path of an event to its rows).
//! - `assignment`: the stored checkpoints, read for the rebalance callback.
//! - `traced`: the spans of a batch and of its traced records.
//! - `watchdog`: the stall check (partitions nobody applies) and rejoins.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use leadledger_log::consumer::{consumer_config, AssignmentContext};
use leadledger_log::dead_letter::DeadLetters;
use leadledger_log::LogConfig;
use leadledger_projection::Derivations;
use leadledger_store::checkpoints::{self, CORE};
use leadledger_store::projection::Record;
use leadledger_store::{Store, StoreError};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use tracing::Instrument;

use crate::gauges;
use crate::retry::{self, Backoff};
use crate::stall::StallWatch;
use crate::Shutdown;
use watchdog::Joined;

mod assignment;
pub(crate) mod batch;
mod traced;
mod watchdog;

pub use assignment::PgCheckpoints;

pub use batch::BatchOutcome;

/// Projector settings.
#[derive(Debug, Clone)]
pub struct ProjectorConfig {
    pub log: LogConfig,
    /// Consumer group id.
    pub group: String,
    /// Most records per transaction.
    pub batch_max: usize,
    /// How long to wait for more records once a batch has started.
    pub batch_linger: Duration,
    /// SLA policies and feedback requirements the read models are derived with.
    pub derive: Arc<Derivations>,
    /// How long a partition's checkpoint may stand still behind the log's end before the
    /// projector rejoins its group (see [`crate::stall`]). Longer than a dead member's
    /// session timeout plus a rebalance (10 s + a few seconds), so an ordinary hand-over never
    /// counts as a stall.
    pub stall_after: Duration,
}

impl ProjectorConfig {
    pub fn new(log: LogConfig) -> Self {
        Self {
            group: format!("{}.projector", log.topic),
            log,
            batch_max: 2000,
            batch_linger: Duration::from_millis(2),
            derive: Arc::new(Derivations::default()),
            stall_after: Duration::from_secs(60),
        }
    }
}

/// Errors that stop the projector.
#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("log: {0}")]
    Log(#[from] leadledger_log::LogError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error(
        "the read models were built from another log: checkpoint {checkpoint} of \
         {topic}/{partition} is beyond its end ({high}), so the topic was recreated; \
         rebuild into a fresh database or use a new topic"
    )]
    CheckpointBeyondLog {
        topic: String,
        partition: i32,
        checkpoint: i64,
        high: i64,
    },
}

/// Running totals, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub applied: u64,
    pub duplicates: u64,
    pub dead_letters: u64,
    pub batches: u64,
    /// Partitions read again because the database had lost committed batches.
    pub rewinds: u64,
    /// Times the projector rejoined its group because a partition had stalled.
    pub rejoins: u64,
}

/// Longest time between two commits of the consumed offsets to Kafka (monitoring only).
const KAFKA_COMMIT_EVERY: Duration = Duration::from_secs(1);

/// How often an idle projector compares the stored checkpoints with what it saw committed:
/// the bound on how long the last batch of a partition that receives nothing more stays
/// lost after a database crash took its (asynchronous) commit back.
const VERIFY_EVERY: Duration = Duration::from_secs(2);

/// What the projector works with.
#[derive(Debug, Clone)]
pub struct Deps {
    pub cfg: ProjectorConfig,
    pub store: Store,
}

/// Runs until `shutdown` is cancelled; the batch in progress is finished first.
pub async fn run(deps: Deps, shutdown: Shutdown) -> Result<Totals, ProjectorError> {
    let Deps { cfg, store } = deps;
    let ctx = AssignmentContext::new(Arc::new(PgCheckpoints::start(
        (*store.pool.connect_options()).clone(),
    )));
    let consumer: Arc<StreamConsumer<AssignmentContext>> = Arc::new({
        let mut c = consumer_config(&cfg.log.brokers, &cfg.group);
        leadledger_log::config::apply_properties(&mut c, &cfg.log.properties);
        c.create_with_context(ctx.clone())?
    });
    consumer.subscribe(&[&cfg.log.topic])?;
    let dlq = DeadLetters::new(&cfg.log)?;
    let mut p = Projector {
        cfg,
        store,
        consumer,
        ctx,
        dlq,
        next: BTreeMap::new(),
        last_kafka_commit: None,
        outage: false,
        totals: Totals::default(),
    };
    tracing::info!(topic = %p.cfg.log.topic, group = %p.cfg.group, "projector started");
    let mut watch = StallWatch::new(p.cfg.stall_after);
    let mut joined = Joined::now(&p.ctx);
    let mut check = tokio::time::interval((p.cfg.stall_after / 4).min(Duration::from_secs(10)));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut verify = tokio::time::interval(VERIFY_EVERY);
    verify.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = check.tick() => {
                p.check_stalls(&mut watch, &mut joined).await?;
                continue;
            }
            _ = verify.tick() => {
                match checkpoints::load(&p.store.pool, CORE, &p.cfg.log.topic).await {
                    Ok(stored) => p.reread_lost(&stored)?,
                    Err(e) => tracing::debug!(error = %e, "checkpoint verification skipped"),
                }
                continue;
            }
            m = p.consumer.recv() => m,
        };
        let first = match first {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "consumer error");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        tracing::trace!("first record of a batch received");
        let mut batch = vec![first];
        while batch.len() < p.cfg.batch_max {
            match tokio::time::timeout(p.cfg.batch_linger, p.consumer.recv()).await {
                Ok(Ok(m)) => batch.push(m),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "consumer error");
                    break;
                }
                Err(_) => break,
            }
        }
        let owned: Vec<_> = batch.iter().map(BorrowedMessage::detach).collect();
        drop(batch);
        p.process(owned, &shutdown).await?;
    }
    tracing::info!(totals = ?p.totals, "projector stopped");
    Ok(p.totals)
}

struct Projector {
    cfg: ProjectorConfig,
    store: Store,
    /// Shared with the blocking metadata reads of the stall check.
    consumer: Arc<StreamConsumer<AssignmentContext>>,
    ctx: AssignmentContext,
    dlq: DeadLetters,
    /// Next offset to apply, per partition this projector owns.
    next: BTreeMap<i32, i64>,
    /// When offsets were last committed to Kafka (for lag monitoring only).
    last_kafka_commit: Option<std::time::Instant>,
    /// The database failed a batch since the last verification of every checkpoint.
    outage: bool,
    totals: Totals,
}

impl Projector {
    /// Learns the checkpoints of partitions newly assigned (or seen for the first time), so
    /// records below them that were fetched anyway are skipped.
    async fn sync_assignment(&mut self, seen: &BTreeSet<i32>) -> Result<(), ProjectorError> {
        let changes = self.ctx.take();
        for p in &changes.revoked {
            self.next.remove(p);
        }
        let mut need: BTreeSet<i32> = changes.newly_assigned;
        need.extend(seen.iter().filter(|p| !self.next.contains_key(p)));
        if need.is_empty() {
            return Ok(());
        }
        let stored =
            retry::transient(|| checkpoints::load(&self.store.pool, CORE, &self.cfg.log.topic))
                .await?;
        for p in need {
            let checkpoint = stored.get(&p).copied().unwrap_or(0);
            if checkpoint > 0 {
                // A checkpoint beyond the end of the log means these read models were built
                // from another log (the topic was deleted and recreated): applying this one
                // would silently skip its first records.
                let topic = &self.cfg.log.topic;
                let (_, high) =
                    self.consumer
                        .fetch_watermarks(topic, p, Duration::from_secs(10))?;
                if checkpoint > high {
                    return Err(ProjectorError::CheckpointBeyondLog {
                        topic: topic.clone(),
                        partition: p,
                        checkpoint,
                        high,
                    });
                }
            }
            self.next.insert(p, checkpoint);
        }
        Ok(())
    }

    async fn process(
        &mut self,
        batch: Vec<rdkafka::message::OwnedMessage>,
        shutdown: &CancellationToken,
    ) -> Result<(), ProjectorError> {
        let seen: BTreeSet<i32> = batch.iter().map(Message::partition).collect();
        self.sync_assignment(&seen).await?;
        let mut records = Vec::with_capacity(batch.len());
        let mut next_offsets: BTreeMap<i32, i64> = BTreeMap::new();
        let mut traced = traced::Traced::default();
        for m in &batch {
            let p = m.partition();
            let expected = self.next.get(&p).copied().unwrap_or(0);
            if m.offset() < expected {
                continue; // already applied (checkpoint is ahead of what was fetched)
            }
            next_offsets.insert(p, m.offset() + 1);
            match leadledger_log::decode::decode(m) {
                Ok(leadledger_log::decode::Decoded { event, body, trace }) => {
                    // Continues the trace of the request that appended the event.
                    traced.note(trace.as_ref(), p, m.offset());
                    tracing::debug!(
                        trace_id = leadledger_log::trace::trace_id(trace.as_ref()),
                        event_id = %event.event_id,
                        partition = p,
                        offset = m.offset(),
                        "projecting"
                    );
                    records.push(batch::record(m, event, body))
                }
                Err(reason) => {
                    tracing::warn!(partition = p, offset = m.offset(), %reason, "dead-lettering record");
                    self.dlq.send(m, &reason).await?;
                    self.totals.dead_letters += 1;
                    metrics::counter!(gauges::DEAD_LETTERS).increment(1);
                }
            }
        }
        if next_offsets.is_empty() {
            return Ok(());
        }
        // Where this batch continues from: the checkpoints this projector saw committed.
        let committed = batch::continues_from(&self.next, &next_offsets);
        let started = std::time::Instant::now();
        let spans = traced.open(&self.cfg.log.topic, records.len());
        let outcome = match self
            .apply(&records, &committed, &next_offsets, &batch, shutdown)
            .instrument(spans.batch.clone())
            .await
        {
            Ok(o) => o,
            Err(ProjectorError::Store(e @ StoreError::CheckpointBehind { .. })) => {
                tracing::warn!(error = %e, "batch not applied; reading again from the stored checkpoints");
                return self.rewind().await;
            }
            Err(e) => return Err(e),
        };
        drop(spans);
        self.totals.applied += outcome.applied as u64;
        self.totals.duplicates += outcome.duplicates as u64;
        self.totals.batches += 1;
        metrics::histogram!(gauges::BATCH_RECORDS).record(records.len() as f64);
        metrics::histogram!(gauges::APPLY_SECONDS).record(started.elapsed().as_secs_f64());
        metrics::counter!(gauges::EVENTS_APPLIED).increment(outcome.applied as u64);
        metrics::counter!(gauges::DUPLICATES).increment(outcome.duplicates as u64);
        self.next.extend(next_offsets.iter());
        if std::mem::take(&mut self.outage) {
            // The database was down while this batch waited: a crash may have taken back
            // acknowledged commits of partitions this batch did not touch, so every owned
            // partition is checked now rather than when its next record arrives (which for
            // a quiet partition may be never).
            let stored =
                retry::transient(|| checkpoints::load(&self.store.pool, CORE, &self.cfg.log.topic))
                    .await?;
            self.reread_lost(&stored)?;
        }
        tracing::debug!(
            records = records.len(),
            applied = outcome.applied,
            duplicates = outcome.duplicates,
            leads = outcome.leads,
            ms = started.elapsed().as_millis(),
            "batch committed"
        );
        // Kafka offsets serve lag monitoring only (PostgreSQL holds the real checkpoint), so
        // they are committed at most once per KAFKA_COMMIT_EVERY: committed after every batch
        // they cost the broker a write per batch (thousands a second under load, on the same
        // cores as everything else on a laptop).
        let due = self
            .last_kafka_commit
            .is_none_or(|t| t.elapsed() >= KAFKA_COMMIT_EVERY);
        if due {
            let mut tpl = TopicPartitionList::new();
            for (p, o) in &self.next {
                tpl.add_partition_offset(&self.cfg.log.topic, *p, Offset::Offset(*o))?;
            }
            if let Err(e) = self.consumer.commit(&tpl, CommitMode::Async) {
                tracing::debug!(error = %e, "offset commit (monitoring only) failed");
            }
            self.last_kafka_commit = Some(std::time::Instant::now());
        }
        Ok(())
    }

    /// Applies a batch, retrying transient database errors. A batch that fails for another
    /// reason is applied record by record so one bad record cannot stall the partition: the
    /// record that fails alone goes to the dead-letter topic.
    async fn apply(
        &mut self,
        records: &[Record],
        committed: &BTreeMap<i32, i64>,
        next_offsets: &BTreeMap<i32, i64>,
        batch: &[rdkafka::message::OwnedMessage],
        shutdown: &CancellationToken,
    ) -> Result<BatchOutcome, ProjectorError> {
        let topic = self.cfg.log.topic.clone();
        let mut backoff = Backoff::new();
        loop {
            match batch::apply(
                &self.store.pool,
                &topic,
                records,
                committed,
                next_offsets,
                &self.cfg.derive,
            )
            .await
            {
                Ok(o) => return Ok(o),
                // Not the batch's fault: the caller reads the partitions again.
                Err(e @ StoreError::CheckpointBehind { .. }) => return Err(e.into()),
                Err(e) if e.is_transient() => {
                    self.outage = true;
                    tracing::warn!(error = %e, retry_in_ms = backoff.pause().as_millis(), "database unavailable; retrying batch");
                    if shutdown.is_cancelled() && backoff.pause() >= retry::CAP {
                        return Err(e.into());
                    }
                    backoff.wait().await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "batch failed; applying record by record");
                    break;
                }
            }
        }
        let mut total = BatchOutcome::default();
        for r in records {
            let one = BTreeMap::from([(r.logged.partition, r.logged.offset + 1)]);
            match retry::transient(|| {
                batch::apply(
                    &self.store.pool,
                    &topic,
                    std::slice::from_ref(r),
                    committed,
                    &one,
                    &self.cfg.derive,
                )
            })
            .await
            {
                Ok(o) => {
                    total.applied += o.applied;
                    total.duplicates += o.duplicates;
                    total.leads += o.leads;
                }
                Err(e @ StoreError::CheckpointBehind { .. }) => return Err(e.into()),
                Err(e) => {
                    let m = batch
                        .iter()
                        .find(|m| {
                            m.partition() == r.logged.partition && m.offset() == r.logged.offset
                        })
                        .expect("record comes from the batch");
                    self.dlq
                        .send(m, &format!("could not be applied: {e}"))
                        .await?;
                    self.totals.dead_letters += 1;
                    metrics::counter!(gauges::DEAD_LETTERS).increment(1);
                }
            }
        }
        // Move the checkpoints over everything the batch covered.
        retry::transient(|| {
            batch::apply(
                &self.store.pool,
                &topic,
                &[],
                committed,
                next_offsets,
                &self.cfg.derive,
            )
        })
        .await?;
        Ok(total)
    }
}

impl Projector {
    /// The database lost committed batches (a crash lost asynchronous commits, or it was
    /// restored), found by a batch whose partition's checkpoint was behind: the batch is
    /// dropped, records of all its partitions included, so every owned partition is read
    /// again from its stored checkpoint (those behind what this projector saw committed
    /// apply the lost records again instead of skipping them for good).
    async fn rewind(&mut self) -> Result<(), ProjectorError> {
        let stored =
            retry::transient(|| checkpoints::load(&self.store.pool, CORE, &self.cfg.log.topic))
                .await?;
        self.seek_back(&stored, true)
    }

    /// Reads again every owned partition whose `stored` checkpoint is behind what this
    /// projector saw committed. Between batches nothing of this projector is in flight, so a
    /// stored checkpoint behind `next` can only mean the database lost acknowledged commits.
    fn reread_lost(&mut self, stored: &BTreeMap<i32, i64>) -> Result<(), ProjectorError> {
        self.seek_back(stored, false)
    }

    /// Seeks each owned partition to `min(stored, next)`: all of them (`all`), or only those
    /// whose stored checkpoint is behind.
    fn seek_back(&mut self, stored: &BTreeMap<i32, i64>, all: bool) -> Result<(), ProjectorError> {
        for (p, next) in &mut self.next {
            let at = stored.get(p).copied().unwrap_or(0).min(*next);
            if at < *next {
                tracing::warn!(
                    partition = *p,
                    from = *next,
                    to = at,
                    "the database lost committed batches; reading the partition again"
                );
                self.totals.rewinds += 1;
                metrics::counter!(gauges::REWINDS).increment(1);
            } else if !all {
                continue;
            }
            self.consumer.seek(
                &self.cfg.log.topic,
                *p,
                Offset::Offset(at),
                Duration::from_secs(10),
            )?;
            *next = at;
        }
        Ok(())
    }
}
