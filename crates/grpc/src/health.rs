//! What gRPC health reports: SERVING while the process can do its work, NOT_SERVING while
//! the log or the database it needs cannot be reached and during the shutdown drain, so a
//! load balancer or an orchestrator stops sending calls it would fail.

use std::time::Duration;

use leadledger_log::EventProducer;
use leadledger_store::Store;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

/// How often the dependencies are checked.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);
/// How long one check may take before the dependency counts as unreachable.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The dependencies a process's services need (the ones it has).
#[derive(Clone, Default)]
pub struct Dependencies {
    pub store: Option<Store>,
    pub log: Option<EventProducer>,
}

impl Dependencies {
    /// `Ok` when every dependency answers now, else what does not.
    pub async fn check(&self) -> Result<(), String> {
        if let Some(store) = &self.store {
            match tokio::time::timeout(PROBE_TIMEOUT, store.ping()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(format!("PostgreSQL: {e}")),
                Err(_) => return Err("PostgreSQL: no answer".into()),
            }
        }
        if let Some(log) = &self.log {
            let log = log.clone();
            let topic = log.topic().to_string();
            // One metadata request: the broker answers and knows the topic (no watermark
            // request per partition every probe).
            let partitions =
                tokio::task::spawn_blocking(move || log.partitions(&topic, PROBE_TIMEOUT));
            match partitions.await {
                Ok(Ok(partitions)) if !partitions.is_empty() => {}
                Ok(Ok(_)) => return Err("Kafka: the events topic has no partitions".into()),
                Ok(Err(e)) => return Err(format!("Kafka: {e}")),
                Err(e) => return Err(format!("Kafka probe: {e}")),
            }
        }
        Ok(())
    }
}

/// Keeps the overall status (`""`) in step with the dependencies until the process stops.
pub async fn watch(deps: Dependencies, reporter: HealthReporter) {
    let mut serving = true;
    loop {
        let now = deps.check().await;
        match (&now, serving) {
            (Err(why), true) => {
                tracing::warn!(%why, "a dependency is unreachable: health NOT_SERVING");
                reporter
                    .set_service_status("", ServingStatus::NotServing)
                    .await;
                serving = false;
            }
            (Ok(()), false) => {
                tracing::info!("dependencies reachable again: health SERVING");
                reporter
                    .set_service_status("", ServingStatus::Serving)
                    .await;
                serving = true;
            }
            _ => {}
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}
