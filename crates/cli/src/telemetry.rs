//! What a process tells its operators: logs (text or JSON on stderr, `logging.format`) and
//! metrics (Prometheus text at `http://<metrics.listen>/metrics`, off when empty). The
//! metrics themselves are named and described where they are recorded
//! (`leadledger_grpc::metrics`, `leadledger_workers::gauges`); docs/OPERATIONS.md lists them.

use std::net::SocketAddr;

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line (timestamp, level, target, fields, span), for a log pipeline.
    Json,
}

/// Installs the process's log subscriber (filter: `LEADLEDGER_LOG`, default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEADLEDGER_LOG")
        .unwrap_or_else(|_| "info,librdkafka=warn,rdkafka=warn,sqlx=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(true).init(),
    }
}

/// Latency buckets (seconds): 1 ms to 60 s, about three per decade.
const SECONDS: &[f64] = &[
    0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Batch size buckets (records), up to the largest `projector.batch_max`.
const RECORDS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
];

/// Serves the metrics of this process on `listen` (Prometheus text, any path) and declares
/// every metric's help text. Fails when the address cannot be bound.
pub fn install_metrics(listen: &str) -> anyhow::Result<SocketAddr> {
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("metrics.listen: {listen:?} is not an address (host:port)"))?;
    let (recorder, exporter) = PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)?
        .set_buckets_for_metric(
            Matcher::Full(leadledger_workers::gauges::BATCH_RECORDS.into()),
            RECORDS,
        )?
        .build()
        .with_context(|| format!("metrics.listen: serving metrics on {addr}"))?;
    metrics::set_global_recorder(recorder)
        .map_err(|e| anyhow::anyhow!("metrics recorder already installed: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = exporter.await {
            tracing::error!(error = ?e, "the metrics endpoint stopped");
        }
    });
    leadledger_grpc::metrics::describe();
    leadledger_workers::gauges::describe();
    tracing::info!(%addr, "metrics served (Prometheus text)");
    Ok(addr)
}
