//! What a process tells its operators: logs (text or JSON on stderr, `logging.format`),
//! traces (OpenTelemetry over OTLP/gRPC to `telemetry.otlp_endpoint`, off when empty) and
//! metrics (Prometheus text at `http://<metrics.listen>/metrics`, off when empty). The
//! metrics themselves are named and described where they are recorded
//! (`leadledger_grpc::metrics`, `leadledger_workers::gauges`); docs/OPERATIONS.md lists them.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{global, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line (timestamp, level, target, fields, span), for a log pipeline.
    Json,
}

/// Where traces go (`telemetry.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct Traces {
    /// OTLP/gRPC endpoint of a collector (`http://collector:4317`); `None`: not exported.
    pub endpoint: Option<String>,
    /// Share of new traces recorded (a caller's sampled flag is followed).
    pub sample_ratio: f64,
    /// Extra resource attributes (`deployment.environment=prod`…).
    pub resource: Vec<(String, String)>,
}

/// Installs the process's log subscriber (filter: `LEADLEDGER_LOG`, default `info`) and its
/// tracer: every `tracing` span is also an OpenTelemetry span, exported over OTLP when
/// `traces.endpoint` is set. Without an endpoint spans still get ids (sampled out, recorded
/// nowhere), so a call's context still reaches the events it appends. The W3C propagator
/// reads and writes every context. Call inside the Tokio runtime (the OTLP client runs on it);
/// shut the returned provider down before exit to send the last spans.
pub fn init(format: LogFormat, traces: &Traces, role: &str) -> anyhow::Result<SdkTracerProvider> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let resource = Resource::builder()
        .with_service_name("leadledger")
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("leadledger.role", role.to_string()),
        ])
        .with_attributes(
            traces
                .resource
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let provider = match &traces.endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .with_timeout(Duration::from_secs(10))
                .build()
                .with_context(|| format!("telemetry.otlp_endpoint: {endpoint}"))?;
            builder
                .with_batch_exporter(exporter)
                .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                    traces.sample_ratio,
                ))))
                .build()
        }
        None => builder.with_sampler(Sampler::AlwaysOff).build(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEADLEDGER_LOG")
        .unwrap_or_else(|_| "info,librdkafka=warn,rdkafka=warn,sqlx=warn".into());
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("leadledger"));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => registry.with(fmt).init(),
        LogFormat::Json => registry.with(fmt.json().with_current_span(true)).init(),
    }
    Ok(provider)
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
    leadledger_grpc::shed::describe();
    leadledger_workers::gauges::describe();
    tracing::info!(%addr, "metrics served (Prometheus text)");
    Ok(addr)
}
