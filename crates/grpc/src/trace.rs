//! Traces of the calls: every call runs in a server span (a tower layer on the whole
//! server, [`TraceLayer`]) whose parent is the caller's W3C context (`traceparent`,
//! `tracestate`), read by OpenTelemetry's propagator. Work a handler does on behalf of the call
//! continues that trace: an appended event carries the context of the handler's span
//! (`leadledger_log::trace`), and the projector's span for it is its child.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::propagation::Extractor;
use opentelemetry::{global, Context};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Records that a read waited `waited` for its consistency token: a `consistency.wait` span
/// (a child of the call's span) linked to the projector batches whose commits satisfied it
/// (their W3C `traceparent`s, as the checkpoints keep them). So a trace shows which
/// transaction a slow read was waiting for.
pub fn waited_for(batches: Vec<String>, waited: std::time::Duration) {
    let span = tracing::info_span!(
        "consistency.wait",
        waited_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        batches = batches.len(),
    );
    for traceparent in batches {
        let cx = leadledger_log::trace::context_of(Some(&leadledger_api::pb::TraceContext {
            traceparent,
            tracestate: String::new(),
        }));
        let batch = opentelemetry::trace::TraceContextExt::span(&cx)
            .span_context()
            .clone();
        if batch.is_valid() {
            span.add_link(batch);
        }
    }
}

/// The caller's context in the headers of a call (empty when none or unreadable).
pub fn remote(headers: &http::HeaderMap) -> Context {
    global::get_text_map_propagator(|p| p.extract(&Headers(headers)))
}

/// The caller's context in a request's metadata.
pub fn remote_of(metadata: &tonic::metadata::MetadataMap) -> Context {
    remote(metadata.as_ref())
}

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The layer (see the module docs).
#[derive(Clone, Copy, Default)]
pub struct TraceLayer;

impl<S> tower::Layer<S> for TraceLayer {
    type Service = Traced<S>;

    fn layer(&self, inner: S) -> Traced<S> {
        Traced { inner }
    }
}

/// A service whose calls run in a server span.
#[derive(Clone)]
pub struct Traced<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for Traced<S>
where
    S: tower::Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let method = crate::metrics::method_label(req.uri().path());
        let (service, rpc) = method.split_once('/').unwrap_or((&method, ""));
        let span = tracing::info_span!(
            "grpc",
            otel.name = %method,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %rpc,
        );
        // An unreadable or absent context leaves the span a root.
        let _ = span.set_parent(remote(req.headers()));
        Box::pin(async move { inner.call(req).await }.instrument(span))
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceContextExt;
    use opentelemetry_sdk::propagation::TraceContextPropagator;

    use super::*;

    #[test]
    fn the_callers_context_is_read_with_its_tracestate() {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let mut h = http::HeaderMap::new();
        h.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        h.insert("tracestate", "vendor=abc".parse().unwrap());
        let cx = remote(&h);
        let span = cx.span();
        let sc = span.span_context();
        assert!(sc.is_remote() && sc.is_sampled());
        assert_eq!(
            sc.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(sc.trace_state().header(), "vendor=abc");
        assert!(!remote(&http::HeaderMap::new())
            .span()
            .span_context()
            .is_valid());
    }
}
