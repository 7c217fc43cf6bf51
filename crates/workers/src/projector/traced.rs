//! The projector's spans: one per batch (its PostgreSQL transaction), and one per record
//! whose trace is sampled — a child of the request that appended the event (the context the
//! record carries), linked to the batch that applied it. So a trace runs from the gRPC call
//! through the Kafka record to the transaction. Records of unsampled traces cost nothing.

use leadledger_api::pb;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The records of a batch whose trace is sampled, as they are decoded.
#[derive(Default)]
pub(super) struct Traced(Vec<(Context, i32, i64)>);

impl Traced {
    /// Notes a record's context when its trace is sampled.
    pub(super) fn note(&mut self, trace: Option<&pb::TraceContext>, partition: i32, offset: i64) {
        let cx = leadledger_log::trace::context_of(trace);
        if cx.span().span_context().is_sampled() {
            self.0.push((cx, partition, offset));
        }
    }

    /// Opens the batch's span and the records' spans; they end when the result is dropped
    /// (after the commit).
    pub(super) fn open(self, topic: &str, records: usize) -> Spans {
        let batch = tracing::info_span!(
            "projector.batch",
            otel.kind = "consumer",
            messaging.system = "kafka",
            messaging.destination.name = %topic,
            records = records,
        );
        let link = batch.context().span().span_context().clone();
        let records = self
            .0
            .into_iter()
            .map(|(cx, partition, offset)| {
                let s = tracing::info_span!(
                    parent: None,
                    "project",
                    otel.kind = "consumer",
                    messaging.system = "kafka",
                    messaging.operation.type = "process",
                    messaging.destination.name = %topic,
                    messaging.destination.partition.id = partition,
                    messaging.kafka.offset = offset,
                );
                let _ = s.set_parent(cx);
                if link.is_valid() {
                    s.add_link(link.clone());
                }
                s
            })
            .collect();
        Spans {
            batch,
            _records: records,
        }
    }
}

/// The spans of a batch being applied.
pub(super) struct Spans {
    pub(super) batch: tracing::Span,
    _records: Vec<tracing::Span>,
}
