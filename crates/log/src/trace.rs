//! W3C trace context as it rides in a record (the event's `trace`: `traceparent` and
//! `tracestate`, and the `traceparent` header when headers are on), read and written by
//! OpenTelemetry's propagator (the process installs the W3C one), so one trace follows a fact
//! from the request that appended it to the batch that projected it. No hand parsing here.

use std::collections::HashMap;

use leadledger_api::pb;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{global, Context};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The context a record carries (an empty context when it carries none, or one the
/// propagator cannot read).
pub fn context_of(trace: Option<&pb::TraceContext>) -> Context {
    match trace {
        // Read in place: the projector calls this for every record.
        Some(t) => global::get_text_map_propagator(|p| p.extract(&Carried(t))),
        None => Context::new(),
    }
}

/// A record's trace context as the propagator reads it.
struct Carried<'a>(&'a pb::TraceContext);

impl Extractor for Carried<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => Some(self.0.traceparent.as_str()),
            "tracestate" if !self.0.tracestate.is_empty() => Some(self.0.tracestate.as_str()),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

/// `cx` as a record carries it; `None` when it has no valid span context.
pub fn to_record(cx: &Context) -> Option<pb::TraceContext> {
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier: HashMap<String, String> = HashMap::with_capacity(2);
    global::get_text_map_propagator(|p| p.inject_context(cx, &mut carrier));
    let traceparent = carrier.remove("traceparent")?;
    Some(pb::TraceContext {
        traceparent,
        tracestate: carrier.remove("tracestate").unwrap_or_default(),
    })
}

/// The trace context for work done now, in the current `tracing` span: that span's
/// OpenTelemetry context when the process exports traces (or at least creates span ids:
/// the binary always does), else `fallback` (the caller's context, passed on as it came).
pub fn current_or(fallback: &Context) -> Option<pb::TraceContext> {
    to_record(&tracing::Span::current().context()).or_else(|| to_record(fallback))
}

/// The trace id of a record's context, for logs (empty when it has none).
pub fn trace_id(trace: Option<&pb::TraceContext>) -> String {
    let cx = context_of(trace);
    let span = cx.span();
    let sc = span.span_context();
    if sc.is_valid() {
        sc.trace_id().to_string()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_sdk::propagation::TraceContextPropagator;

    use super::*;

    #[test]
    fn a_record_context_round_trips_with_its_tracestate() {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let tc = pb::TraceContext {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: "vendor=abc,other=1".into(),
        };
        let cx = context_of(Some(&tc));
        assert_eq!(to_record(&cx), Some(tc.clone()));
        assert_eq!(trace_id(Some(&tc)), "4bf92f3577b34da6a3ce929d0e0e4736");
        // Not a context: nothing to carry on.
        for bad in [
            "",
            "00-xyz",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ] {
            let t = pb::TraceContext {
                traceparent: bad.into(),
                tracestate: String::new(),
            };
            assert_eq!(to_record(&context_of(Some(&t))), None, "{bad}");
            assert_eq!(trace_id(Some(&t)), "");
        }
        assert_eq!(to_record(&context_of(None)), None);
        // Outside any span with a context, the fallback is carried as it came.
        assert_eq!(current_or(&cx), Some(tc));
    }
}
