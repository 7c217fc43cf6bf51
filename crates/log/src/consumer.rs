//! Consumer configuration and a context that tells the projector which partitions it was
//! just given, so it can seek each to the checkpoint stored in PostgreSQL.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;

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
        .set("fetch.wait.max.ms", "20")
        .set("enable.partition.eof", "false");
    c
}

/// Partition assignment as seen by the rebalance callbacks.
#[derive(Debug, Default)]
pub struct Assignment {
    /// Partitions assigned since the projector last looked: they need a seek.
    pub newly_assigned: BTreeSet<i32>,
    /// Partitions revoked since the projector last looked: drop their state.
    pub revoked: BTreeSet<i32>,
}

/// A consumer context recording assignment changes.
#[derive(Clone, Default)]
pub struct AssignmentContext {
    pub changes: Arc<Mutex<Assignment>>,
}

impl AssignmentContext {
    /// Takes the changes recorded since the last call.
    pub fn take(&self) -> Assignment {
        std::mem::take(&mut *self.changes.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ClientContext for AssignmentContext {}

impl ConsumerContext for AssignmentContext {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        match rebalance {
            Rebalance::Assign(tpl) => {
                for e in tpl.elements() {
                    changes.revoked.remove(&e.partition());
                    changes.newly_assigned.insert(e.partition());
                    tracing::info!(topic = e.topic(), partition = e.partition(), "assigned");
                }
            }
            Rebalance::Revoke(tpl) => {
                for e in tpl.elements() {
                    changes.newly_assigned.remove(&e.partition());
                    changes.revoked.insert(e.partition());
                    tracing::info!(topic = e.topic(), partition = e.partition(), "revoked");
                }
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
        }
    }
}
