//! RPC metrics: a tower layer on the whole server (outside the gate, so refused calls count)
//! that records every call's method, status code and duration once its response ends —
//! streams included, with the code of their trailers. Recorded through the `metrics` facade;
//! the binary decides where they go (`metrics.listen`, Prometheus text).
//!
//! Labels are bounded: a method is one of the RPCs the server's descriptors declare, anything
//! else (a scanner's random paths) is `other`; a code is one of gRPC's seventeen.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use prost::Message as _;

use crate::body::{Watch, Watched};

/// Calls, by method and gRPC status code.
pub const REQUESTS: &str = "leadledger_rpc_requests_total";
/// Call duration (first byte of the request to the end of the response), by method.
pub const DURATION: &str = "leadledger_rpc_duration_seconds";
/// Events accepted by `Append` and `StreamEvents`, by event type.
pub const EVENTS_INGESTED: &str = "leadledger_events_ingested_total";
/// `WatchSla` streams open now.
pub const WATCH_SLA_SUBSCRIBERS: &str = "leadledger_watch_sla_subscribers";

/// Declares this crate's metrics (their help text) to the installed recorder.
pub fn describe() {
    metrics::describe_counter!(REQUESTS, "gRPC calls by method and status code");
    metrics::describe_histogram!(
        DURATION,
        metrics::Unit::Seconds,
        "gRPC call duration by method, to the end of the response (streams: their whole life)"
    );
    metrics::describe_counter!(
        EVENTS_INGESTED,
        "events acknowledged by the log through Append and StreamEvents, by event type"
    );
    metrics::describe_gauge!(WATCH_SLA_SUBSCRIBERS, "WatchSla streams open now");
}

/// The `/package.Service/Method` paths the server's descriptors declare.
fn known_methods() -> &'static HashSet<String> {
    static KNOWN: OnceLock<HashSet<String>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut known = HashSet::new();
        for set in [
            leadledger_api::pb::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ] {
            let Ok(set) = prost_types::FileDescriptorSet::decode(set) else {
                continue;
            };
            for file in set.file {
                let package = file.package();
                for service in &file.service {
                    for method in &service.method {
                        known.insert(format!("/{package}.{}/{}", service.name(), method.name()));
                    }
                }
            }
        }
        for reflection in ["v1", "v1alpha"] {
            known.insert(format!(
                "/grpc.reflection.{reflection}.ServerReflection/ServerReflectionInfo"
            ));
        }
        known
    })
}

/// The method label of a request path: the path without its leading `/` when the server
/// declares it, else `other`.
pub fn method_label(path: &str) -> Arc<str> {
    if known_methods().contains(path) {
        Arc::from(&path[1..])
    } else {
        Arc::from("other")
    }
}

/// The label of a `grpc-status` value: the code's name (`OK`, `NOT_FOUND`…).
fn code_label(status: Option<&http::HeaderValue>) -> &'static str {
    let code = status
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(tonic::Code::Unknown, tonic::Code::from_i32);
    match code {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The layer (see the module docs).
#[derive(Clone, Copy, Default)]
pub struct RpcMetricsLayer;

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = Measured<S>;

    fn layer(&self, inner: S) -> Measured<S> {
        Measured { inner }
    }
}

/// A service whose calls are measured.
#[derive(Clone)]
pub struct Measured<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B, RB> tower::Service<http::Request<B>> for Measured<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
    RB: http_body::Body + Unpin + Send + 'static,
{
    type Response = http::Response<Observed<RB>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let call = Call {
            method: method_label(req.uri().path()),
            started: Instant::now(),
            code: None,
            recorded: false,
        };
        Box::pin(async move {
            let response = inner.call(req).await?;
            let mut call = call;
            // A call that fails before its first message answers with headers only.
            call.code = response
                .headers()
                .get("grpc-status")
                .map(|v| code_label(Some(v)));
            Ok(Watched::wrap(response, call))
        })
    }
}

/// One call being measured: recorded once, when its response ends or is dropped.
pub struct Call {
    method: Arc<str>,
    started: Instant,
    code: Option<&'static str>,
    recorded: bool,
}

impl Call {
    fn record(&mut self, code: &'static str) {
        if std::mem::replace(&mut self.recorded, true) {
            return;
        }
        let method = self.method.to_string();
        metrics::counter!(REQUESTS, "method" => method.clone(), "code" => code).increment(1);
        metrics::histogram!(DURATION, "method" => method)
            .record(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // Dropped before its trailers: the client went away (or the server cut the stream).
        let code = self.code.unwrap_or("CANCELLED");
        self.record(code);
    }
}

/// A response body that records its call when it ends.
pub type Observed<B> = Watched<B, Call>;

impl Watch for Call {
    fn frame<D, E>(&mut self, polled: &Poll<Option<Result<http_body::Frame<D>, E>>>) {
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = code_label(trailers.get("grpc-status"));
                    self.code = Some(code);
                    self.record(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.record("INTERNAL"),
            Poll::Ready(None) => {
                let code = self.code.unwrap_or("OK");
                self.record(code);
            }
            Poll::Pending => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_bounded_to_the_declared_rpcs() {
        assert_eq!(
            &*method_label("/leadledger.v1.IngestService/Append"),
            "leadledger.v1.IngestService/Append"
        );
        assert_eq!(
            &*method_label("/grpc.health.v1.Health/Check"),
            "grpc.health.v1.Health/Check"
        );
        assert_eq!(&*method_label("/leadledger.v1.IngestService/Nope"), "other");
        assert_eq!(&*method_label("/../../etc/passwd"), "other");
        assert!(known_methods().len() > 20, "{:?}", known_methods());
    }

    #[test]
    fn codes_are_named() {
        let v = |s: &str| http::HeaderValue::from_str(s).unwrap();
        assert_eq!(code_label(Some(&v("0"))), "OK");
        assert_eq!(code_label(Some(&v("16"))), "UNAUTHENTICATED");
        assert_eq!(code_label(Some(&v("99"))), "UNKNOWN");
        assert_eq!(code_label(None), "UNKNOWN");
    }
}
