//! Traces end to end: a real `leadledger serve --role all` exports its spans over OTLP/gRPC
//! to a receiver this test serves — the OpenTelemetry collector's `TraceService`, built from
//! the official OpenTelemetry proto definitions (the `opentelemetry-proto` crate). One
//! `Append` whose caller sends a `traceparent` and a `tracestate` must give one trace: the
//! caller's span → the server span of the call → the `append` span → (the Kafka record) → the
//! projector's `project` span of the event, which links to the batch that applied it. A read
//! that waits for its consistency token links to the batch whose commit satisfied it.
//!
//! Why a test of the `leadledger` package: see `kill.rs` (the binary's path).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leadledger_api::pb::{
    self, ingest_service_client::IngestServiceClient, query_service_client::QueryServiceClient,
};
use leadledger_e2e::events::{at, captured};
use leadledger_e2e::process::{child_log_settings, set, test_dir, Leadledger};
use leadledger_e2e::TestEnv;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;

const BIN: &str = env!("CARGO_BIN_EXE_leadledger");
const TMP: &str = env!("CARGO_TARGET_TMPDIR");
const WAIT: Duration = Duration::from_secs(45);
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Every span received, with its resource's `service.name`.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<(String, Span)>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.as_ref()?.value.as_ref())
                .map(|v| match v {
                    Value::StringValue(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            for ss in rs.scope_spans {
                spans.extend(ss.spans.into_iter().map(|s| (service.clone(), s)));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attr(s: &Span, key: &str) -> Option<String> {
    s.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            Value::StringValue(s) => s.clone(),
            Value::IntValue(i) => i.to_string(),
            other => format!("{other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_from_the_call_through_the_log_to_the_projection() -> anyhow::Result<()> {
    // The receiver.
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let otlp = listener.local_addr()?;
    let serving = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    // The binary, exporting every trace there; the harness's own projector stands aside.
    let mut env = TestEnv::start(2).await?;
    env.stop_projector().await?;
    let dir = test_dir(TMP, "traces")?;
    let (db_url, _store) = env.extra_database("traces").await?;
    let mut settings = child_log_settings(&env);
    set(&mut settings, "database.url", db_url);
    settings.extend([
        ("telemetry.otlp_endpoint", format!("http://{otlp}")),
        ("telemetry.sample_ratio", "1.0".to_string()),
        (
            "telemetry.resource_attributes",
            "deployment.environment=test".to_string(),
        ),
    ]);
    let mut server = Leadledger::new(BIN, "traced", "all", &settings, &dir)?;
    server.proc = server.proc.env("OTEL_BSP_SCHEDULE_DELAY", "100");
    server.start().await?;

    // One call from a traced caller.
    let mut ingest = IngestServiceClient::connect(format!("http://{}", server.addr)).await?;
    let mut req = tonic::Request::new(pb::AppendRequest {
        tenant_id: "acme".into(),
        events: vec![captured("L-T", "t-1", at(3, 2, 9), "website")],
    });
    req.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{CALLER_SPAN}-01").parse()?,
    );
    req.metadata_mut()
        .insert("tracestate", "vendor=abc".parse()?);
    let ack = ingest.append(req).await?.into_inner();
    let offset = ack.acks[0].position.as_ref().unwrap().offset;

    // Wait for the projector's span of the event.
    let deadline = Instant::now() + WAIT;
    let spans = loop {
        let spans: Vec<(String, Span)> = receiver.spans.lock().unwrap().clone();
        if spans.iter().any(|(_, s)| s.name == "project") {
            break spans;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no projector span within {WAIT:?}; received {:?}; its log:\n{}",
            spans.iter().map(|(_, s)| &s.name).collect::<Vec<_>>(),
            server.proc.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let in_trace: Vec<&Span> = spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| hex::encode(&s.trace_id) == TRACE_ID)
        .collect();
    let named = |name: &str| {
        in_trace
            .iter()
            .find(|s| s.name == name)
            .copied()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no {name} span in the caller's trace: {:?}",
                    in_trace.iter().map(|s| &s.name).collect::<Vec<_>>()
                )
            })
    };
    assert!(spans.iter().all(|(svc, _)| svc == "leadledger"));

    // The server span: a child of the caller's span, named by the RPC, with its tracestate.
    let rpc = named("leadledger.v1.IngestService/Append")?;
    assert_eq!(hex::encode(&rpc.parent_span_id), CALLER_SPAN);
    assert_eq!(rpc.trace_state, "vendor=abc");
    assert_eq!(attr(rpc, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(attr(rpc, "rpc.method").as_deref(), Some("Append"));
    // The handler's span, a child of the server span.
    let append = named("append")?;
    assert_eq!(append.parent_span_id, rpc.span_id);
    // Through the log: the projector's span of the event is the append span's child.
    let project = named("project")?;
    assert_eq!(
        project.parent_span_id, append.span_id,
        "the record carried the context"
    );
    assert_eq!(
        attr(project, "messaging.kafka.offset"),
        Some(offset.to_string())
    );
    // ... and links to the batch whose transaction applied it.
    let batch_link = project.links.first().expect("a link to the batch");
    let batch = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.name == "projector.batch" && s.span_id == batch_link.span_id)
        .expect("the linked batch span was exported");
    assert!(batch.start_time_unix_nano <= project.start_time_unix_nano);
    assert!(attr(batch, "records").is_some());

    // Reads that carry the token of the write just made: most wait for the projector (its
    // batch takes milliseconds), and each that waited has a `consistency.wait` span linked to
    // the batch whose commit satisfied it. Each read is its own trace.
    let mut query = QueryServiceClient::connect(format!("http://{}", server.addr)).await?;
    for i in 1..=20u32 {
        let lead = format!("L-W{i}");
        let ack = ingest
            .append(pb::AppendRequest {
                tenant_id: "acme".into(),
                events: vec![captured(&lead, &format!("w-{i}"), at(3, 2, 10), "website")],
            })
            .await?
            .into_inner();
        let mut req = tonic::Request::new(pb::GetLeadRequest {
            tenant_id: "acme".into(),
            lead_id: lead,
            consistency_token: ack.consistency_token,
        });
        req.metadata_mut().insert(
            "traceparent",
            format!("00-{i:032x}-{CALLER_SPAN}-01").parse()?,
        );
        query.get_lead(req).await?;
    }
    let deadline = Instant::now() + WAIT;
    let (wait, spans) = loop {
        let spans: Vec<(String, Span)> = receiver.spans.lock().unwrap().clone();
        let wait = spans
            .iter()
            .map(|(_, s)| s)
            .find(|s| s.name == "consistency.wait")
            .cloned();
        if let Some(w) = wait {
            break (w, spans);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "none of 20 reads left a consistency.wait span within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let read = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.span_id == wait.parent_span_id)
        .expect("the read's server span was exported");
    assert_eq!(read.name, "leadledger.v1.QueryService/GetLead");
    assert_eq!(read.trace_id, wait.trace_id);
    assert!(attr(&wait, "waited_ms").is_some());
    let satisfied = wait.links.first().expect("a link to the satisfying batch");
    let batch = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.name == "projector.batch" && s.span_id == satisfied.span_id)
        .expect("the linked batch span was exported");
    assert!(batch.start_time_unix_nano <= wait.start_time_unix_nano);

    server.kill9()?;
    serving.abort();
    env.cleanup().await
}
