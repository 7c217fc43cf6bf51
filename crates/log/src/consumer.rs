//! Consumer configuration and a context that starts each assigned partition at the
//! checkpoint stored in PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

/// Consumer settings: no auto commit (PostgreSQL holds the real checkpoint; Kafka commits
/// are only for lag monitoring), start from the beginning when nothing is known.
pub fn consumer_config(brokers: &str, group: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        // Tansu answers a fetch only when this runs out, even when records arrived sooner;
        // it bounds freshness (measured: 20 ms → 29 ms p50 log latency, 5 ms → 7 ms).
        .set("fetch.wait.max.ms", "5")
        // Prefetch bounded: librdkafka's defaults (100 000 messages per partition, 64 MiB
        // of payload, plus its per-message overhead) let a lagging projector grow past
        // 400 MB (docs/BENCHMARKS-soak.md). A batch is at most a few thousand records, so
        // 5 000 per partition and 8 MiB in all keep the next batches queued and no more.
        .set("queued.min.messages", "5000")
        .set("queued.max.messages.kbytes", "8192")
        .set("enable.partition.eof", "false");
    crate::config::apply_reconnect(&mut c);
    crate::config::apply_debug(&mut c);
    c
}

/// Where the consumer must start reading each partition it is given: the checkpoints stored
/// in PostgreSQL. Called from the rebalance callback, so it is synchronous.
pub trait CheckpointSource: Send + Sync {
    /// Next offset to read per partition of `topic`; partitions without one are absent.
    fn next_offsets(&self, topic: &str, partitions: &[i32]) -> Result<BTreeMap<i32, i64>, String>;
}

/// Partition assignment as seen by the rebalance callbacks.
#[derive(Debug, Default)]
pub struct Assignment {
    /// Partitions assigned since the projector last looked.
    pub newly_assigned: BTreeSet<i32>,
    /// Partitions revoked since the projector last looked: drop their state.
    pub revoked: BTreeSet<i32>,
}

/// A consumer context that starts every assigned partition at its stored checkpoint
/// (the beginning when none is stored) and records assignment changes.
///
/// Setting the offsets in the assignment itself, rather than seeking afterwards, means no
/// record before the checkpoint is fetched and no seek round trip is needed.
#[derive(Clone)]
pub struct AssignmentContext {
    changes: Arc<Mutex<Assignment>>,
    checkpoints: Arc<dyn CheckpointSource>,
    /// Assignments received from the group so far, empty ones included.
    assignments: Arc<std::sync::atomic::AtomicU64>,
}

impl AssignmentContext {
    pub fn new(checkpoints: Arc<dyn CheckpointSource>) -> Self {
        Self {
            changes: Arc::default(),
            checkpoints,
            assignments: Arc::default(),
        }
    }

    /// How many assignments (empty ones included) the group has handed this consumer: one
    /// more than before a (re)join means the join has completed.
    pub fn assignments(&self) -> u64 {
        self.assignments.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Takes the changes recorded since the last call.
    pub fn take(&self) -> Assignment {
        std::mem::take(&mut *self.changes.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn start_at_checkpoints(&self, tpl: &mut TopicPartitionList) {
        let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for e in tpl.elements() {
            by_topic
                .entry(e.topic().to_string())
                .or_default()
                .push(e.partition());
        }
        for (topic, partitions) in by_topic {
            match self.checkpoints.next_offsets(&topic, &partitions) {
                Ok(stored) => {
                    for p in partitions {
                        let offset = stored
                            .get(&p)
                            .map_or(Offset::Beginning, |o| Offset::Offset(*o));
                        if let Err(e) = tpl.set_partition_offset(&topic, p, offset) {
                            tracing::warn!(%topic, partition = p, error = %e, "cannot set start offset");
                        }
                        tracing::info!(%topic, partition = p, start = ?offset, "assigned at stored checkpoint");
                    }
                }
                // Still correct, only slower: the projector skips records below the checkpoint.
                Err(e) => {
                    tracing::warn!(%topic, error = %e, "checkpoints unavailable; starting at committed offsets")
                }
            }
        }
    }
}

impl ClientContext for AssignmentContext {}

impl ConsumerContext for AssignmentContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.start_at_checkpoints(tpl);
                if let Err(e) = consumer.assign(tpl) {
                    tracing::error!(error = %e, "assign failed");
                }
                for e in tpl.elements() {
                    changes.revoked.remove(&e.partition());
                    changes.newly_assigned.insert(e.partition());
                }
                self.assignments
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                drop_assignment(consumer, tpl, &mut changes);
            }
            // librdkafka's contract for any other error: drop the assignment to resync; it
            // rejoins the group and a new assignment follows. The partitions dropped here
            // are reported as revoked, so the projector discards their in-memory state and
            // restarts them at their checkpoints when they come back.
            other => {
                tracing::warn!(error = ?other, "rebalance error; dropping the assignment");
                let held = consumer
                    .assignment()
                    .unwrap_or_else(|_| TopicPartitionList::new());
                drop_assignment(consumer, &held, &mut changes);
            }
        }
    }
}

/// Unassigns everything and records `dropped` as revoked.
fn drop_assignment(
    consumer: &BaseConsumer<AssignmentContext>,
    dropped: &TopicPartitionList,
    changes: &mut Assignment,
) {
    if let Err(e) = consumer.unassign() {
        tracing::error!(error = %e, "unassign failed");
    }
    for e in dropped.elements() {
        changes.newly_assigned.remove(&e.partition());
        changes.revoked.insert(e.partition());
        tracing::info!(topic = e.topic(), partition = e.partition(), "revoked");
    }
}
