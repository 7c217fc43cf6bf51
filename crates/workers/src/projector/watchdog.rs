//! The projector's watchdog: partitions with records that nobody applies make it rejoin its
//! consumer group ([`crate::stall`]).

use std::collections::BTreeMap;
use std::time::Duration;

use leadledger_log::consumer::AssignmentContext;
use leadledger_store::checkpoints::{self, CORE};
use rdkafka::consumer::Consumer;

use super::{Projector, ProjectorError};
use crate::stall::StallWatch;

impl Projector {
    /// Rejoins the group when a partition of the topic has records that nobody applies
    /// ([`crate::stall`]), or when the group has not assigned this projector anything (not
    /// even an empty set) within `stall_after` of its (re)join. The partitions' clocks run
    /// only once the join has completed: a rebalance in progress is not a stall. A failed
    /// read (database or broker down) is no evidence of a stall and starts the clocks again.
    pub(super) async fn check_stalls(
        &mut self,
        watch: &mut StallWatch,
        joined: &mut Joined,
    ) -> Result<(), ProjectorError> {
        if !joined.completed(&self.ctx) {
            watch.reset();
            let waited = joined.at.elapsed();
            if waited >= self.cfg.stall_after {
                tracing::warn!(
                    waited_secs = waited.as_secs(),
                    "the consumer group assigned nothing since the projector joined; rejoining"
                );
                self.rejoin(joined)?;
            }
            return Ok(());
        }
        let (stored, ends) = match self.positions().await {
            Ok(read) => read,
            Err(e) => {
                tracing::debug!(error = %e, "stall check skipped");
                watch.reset();
                return Ok(());
            }
        };
        let stalled = watch.observe(std::time::Instant::now(), &stored, &ends);
        if stalled.is_empty() {
            return Ok(());
        }
        for s in &stalled {
            tracing::warn!(
                partition = s.partition,
                checkpoint = s.checkpoint,
                end = s.end,
                stalled_secs = s.stalled_for.as_secs(),
                owned_here = self.next.contains_key(&s.partition),
                "partition has records no projector applies; rejoining the consumer group"
            );
        }
        self.rejoin(joined)?;
        watch.reset();
        Ok(())
    }

    /// Leaves the group and joins it again: the group assigns every partition anew.
    fn rejoin(&mut self, joined: &mut Joined) -> Result<(), ProjectorError> {
        self.consumer.unsubscribe();
        self.consumer.subscribe(&[&self.cfg.log.topic])?;
        self.totals.rejoins += 1;
        *joined = Joined::now(&self.ctx);
        Ok(())
    }

    /// The stored checkpoints and the log's end of every partition; the broker is not asked
    /// when the database cannot answer.
    async fn positions(&self) -> Result<(BTreeMap<i32, i64>, BTreeMap<i32, i64>), String> {
        let stored = checkpoints::load(&self.store.pool, CORE, &self.cfg.log.topic)
            .await
            .map_err(|e| format!("checkpoints unreadable: {e}"))?;
        let ends = self
            .log_ends()
            .await
            .map_err(|e| format!("log ends unreadable: {e}"))?;
        Ok((stored, ends))
    }

    /// End offset (high watermark) of every partition of the events topic. librdkafka's
    /// calls block (up to their timeout when the broker is down), so they run on the blocking
    /// pool, not on a thread the server's tasks share.
    async fn log_ends(&self) -> Result<BTreeMap<i32, i64>, String> {
        let consumer = self.consumer.clone();
        let topic = self.cfg.log.topic.clone();
        let read = move || -> Result<BTreeMap<i32, i64>, rdkafka::error::KafkaError> {
            // Short: the first failure ends the check, so a broker that is down delays the
            // loop (and a shutdown) by about this much.
            let timeout = Duration::from_secs(2);
            let md = consumer.fetch_metadata(Some(&topic), timeout)?;
            let mut ends = BTreeMap::new();
            for t in md.topics().iter().filter(|t| t.name() == topic) {
                for part in t.partitions() {
                    let (_, high) = consumer.fetch_watermarks(&topic, part.id(), timeout)?;
                    ends.insert(part.id(), high);
                }
            }
            Ok(ends)
        };
        match tokio::task::spawn_blocking(read).await {
            Ok(ends) => ends.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// When the projector last (re)joined its group, and how many assignments it had then.
pub(super) struct Joined {
    at: std::time::Instant,
    assignments: u64,
}

impl Joined {
    pub(super) fn now(ctx: &AssignmentContext) -> Self {
        Self {
            at: std::time::Instant::now(),
            assignments: ctx.assignments(),
        }
    }

    /// Whether the group has assigned something (an empty set counts) since.
    fn completed(&self, ctx: &AssignmentContext) -> bool {
        ctx.assignments() > self.assignments
    }
}
