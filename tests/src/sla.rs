//! Opt-in SLA worker for a [`TestEnv`] (off by default: other tests count events exactly).

use std::sync::Arc;
use std::time::Duration;

use leadledger_sla::PolicySet;
use leadledger_workers::sla_worker::{self, SlaConfig, TimeSource};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::TestEnv;

/// A running SLA worker task; stopped on [`SlaWorker::stop`] or when dropped.
pub struct SlaWorker {
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl SlaWorker {
    /// Stops it and waits until it has.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl SlaWorker {
    /// Kills it wherever it is (the task is dropped at its next await: between a read and
    /// its append, or between an append and noting it), like a crash of its process.
    pub async fn abort(mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for SlaWorker {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TestEnv {
    /// Starts an SLA worker on this environment's topic and database, reading "now" from
    /// `clock`, ticking every 50 ms.
    pub fn start_sla_worker(
        &self,
        policies: PolicySet,
        clock: Arc<dyn TimeSource>,
    ) -> anyhow::Result<SlaWorker> {
        let mut cfg = SlaConfig::new(
            Arc::new(leadledger_sla::TenantPolicies::single(policies)),
            Duration::from_millis(50),
        );
        cfg.clock = clock;
        cfg.account_rules = crate::test_account_rules();
        let stop = CancellationToken::new();
        let task = tokio::spawn(sla_worker::run(
            leadledger_workers::sla_worker::Deps {
                store: self.store.clone(),
                producer: leadledger_log::EventProducer::new(&self.log)?,
                topic: self.log.topic.clone(),
                cfg,
            },
            stop.clone(),
        ));
        Ok(SlaWorker {
            stop,
            task: Some(task),
        })
    }
}
