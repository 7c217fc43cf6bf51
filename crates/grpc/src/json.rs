//! HTTP/JSON beside gRPC, on the same port: for tools that can only send a webhook.
//!
//! A `POST /leadledger.v1.<Service>/<Method>` with `Content-Type: application/json` (HTTP/1.1
//! or HTTP/2) is the unary call of that method with its request message in proto3 JSON, the
//! shape of the Connect protocol's unary JSON calls. The layer, outermost on the server,
//! turns the JSON into the protobuf request by the method's descriptor
//! (`leadledger_api::pb::FILE_DESCRIPTOR_SET`, `prost-reflect`), passes it through the very
//! stack a gRPC call takes (trace, metrics, the authentication gate, the service's own
//! validation), and turns the answer back into JSON:
//!
//! - success: `200` with the response message in proto3 JSON (lowerCamelCase names;
//!   64-bit integers as strings; timestamps RFC 3339);
//! - failure: the HTTP status of the gRPC code (400 invalid argument and failed
//!   precondition, 401, 403, 404, 409, 429, 499, 500, 501, 503, 504) with the `google.rpc.Status` as
//!   JSON: `{"code": 3, "message": "…", "details": [{"@type":
//!   "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": […]}]}`.
//!
//! A body that is not JSON of the request type (or is over 4 MiB, or names no unary method)
//! is refused here, before the gate sees the call.
//!
//! Streaming methods (`StreamEvents`, `WatchSla`) are gRPC only (501). Anything else (gRPC,
//! reflection, health) passes through untouched.

use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full, Limited};
use leadledger_api::pb::FILE_DESCRIPTOR_SET;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, SerializeOptions};
use serde_json::{json, Value};
use tonic::body::Body;
use tonic::Code;
use tonic_types::StatusExt;

/// The descriptors of leadledger's services, decoded once.
static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("the build's own descriptor set")
});

/// Serves HTTP/JSON calls through the wrapped gRPC stack.
#[derive(Clone, Copy, Default)]
pub struct JsonLayer {
    /// The server's longest call (`limits.max_deadline_ms`). tonic enforces it outside every
    /// layer and would answer a JSON caller with a gRPC status under HTTP 200; this layer
    /// gives up a little earlier (a twentieth, at least 10 ms) and answers 504 itself.
    pub deadline: Option<std::time::Duration>,
    /// The largest body accepted (the server's `MAX_MESSAGE`, 4 MiB).
    pub max_body: usize,
}

impl<S> tower::Layer<S> for JsonLayer {
    type Service = Json<S>;

    fn layer(&self, inner: S) -> Json<S> {
        let before = |d: std::time::Duration| {
            d.saturating_sub((d / 20).max(std::time::Duration::from_millis(10)))
        };
        Json {
            inner,
            deadline: self.deadline.map(before),
            max_body: self.max_body,
        }
    }
}

/// A gRPC stack that also answers HTTP/JSON.
#[derive(Clone)]
pub struct Json<S> {
    inner: S,
    deadline: Option<std::time::Duration>,
    max_body: usize,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, RB> tower::Service<http::Request<Body>> for Json<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    RB: http_body::Body<Data = Bytes> + Send + 'static,
    RB::Error: Into<tower::BoxError>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (deadline, max_body) = (self.deadline, self.max_body);
        if !is_json(&req) {
            return Box::pin(async move { Ok(inner.call(req).await?.map(Body::new)) });
        }
        Box::pin(async move {
            let method = match unary_method(req.uri().path()) {
                Ok(m) => m,
                Err(r) => return Ok(r.response()),
            };
            let (mut parts, body) = req.into_parts();
            let request = match grpc_request(&method, body, max_body).await {
                Ok(bytes) => bytes,
                Err(r) => return Ok(r.response()),
            };
            parts.headers.remove(http::header::CONTENT_LENGTH);
            parts.headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/grpc"),
            );
            parts
                .headers
                .insert(http::header::TE, http::HeaderValue::from_static("trailers"));
            let call = async {
                let response = inner
                    .call(http::Request::from_parts(
                        parts,
                        Body::new(Full::new(request)),
                    ))
                    .await?;
                Ok(json_response(&method, response).await)
            };
            match deadline {
                None => call.await,
                Some(d) => match tokio::time::timeout(d, call).await {
                    Ok(answer) => answer,
                    Err(_) => Ok(refusal(
                        Code::DeadlineExceeded,
                        format!(
                            "no answer within {} ms (limits.max_deadline_ms); a write may still \
                             complete: retry with the same source ids",
                            d.as_millis()
                        ),
                    )),
                },
            }
        })
    }
}

/// A POST whose content type is JSON.
fn is_json<B>(req: &http::Request<B>) -> bool {
    req.method() == http::Method::POST
        && req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The unary method a path names, or the refusal to send.
fn unary_method(path: &str) -> Result<MethodDescriptor, Refusal> {
    let found = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .filter(|(service, _)| service.starts_with("leadledger."))
        .and_then(|(service, method)| {
            POOL.get_service_by_name(service)?
                .methods()
                .find(|m| m.name() == method)
        });
    match found {
        None => Err(Refusal(
            Code::Unimplemented,
            format!("no method {path}: POST /leadledger.v1.<Service>/<Method> (see README.md)"),
        )),
        Some(m) if m.is_client_streaming() || m.is_server_streaming() => Err(Refusal(
            Code::Unimplemented,
            format!("{path} streams: it is served over gRPC only"),
        )),
        Some(m) => Ok(m),
    }
}

/// The JSON body as a framed protobuf request (one uncompressed gRPC message).
async fn grpc_request(
    method: &MethodDescriptor,
    body: Body,
    max_body: usize,
) -> Result<Bytes, Refusal> {
    let bytes = match Limited::new(body, max_body).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Refusal(
                Code::OutOfRange,
                format!("request body over {max_body} bytes"),
            ))
        }
        Err(e) => return Err(Refusal(Code::InvalidArgument, format!("request body: {e}"))),
    };
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let message = DynamicMessage::deserialize(method.input(), &mut de)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| {
            Refusal(
                Code::InvalidArgument,
                format!(
                    "request body is not a {} in JSON: {e}",
                    method.input().full_name()
                ),
            )
        })?;
    let encoded = message.encode_to_vec();
    let mut framed = BytesMut::with_capacity(encoded.len() + 5);
    framed.put_u8(0);
    framed.put_u32(u32::try_from(encoded.len()).unwrap_or(u32::MAX));
    framed.put_slice(&encoded);
    Ok(framed.freeze())
}

/// The gRPC answer as JSON: the message, or the status.
async fn json_response<RB>(
    method: &MethodDescriptor,
    response: http::Response<RB>,
) -> http::Response<Body>
where
    RB: http_body::Body<Data = Bytes>,
    RB::Error: Into<tower::BoxError>,
{
    let (parts, body) = response.into_parts();
    // A call refused before any message answers "trailers-only": the status is a header.
    if let Some(status) = tonic::Status::from_header_map(&parts.headers) {
        if status.code() != Code::Ok {
            return status_response(&status);
        }
    }
    let collected = match body.collect().await {
        Ok(c) => c,
        Err(e) => {
            let e: tower::BoxError = e.into();
            return refusal(Code::Internal, format!("reading the answer: {e}"));
        }
    };
    if let Some(status) = collected
        .trailers()
        .and_then(tonic::Status::from_header_map)
    {
        if status.code() != Code::Ok {
            return status_response(&status);
        }
    }
    let bytes = collected.to_bytes();
    let Some(payload) = bytes.get(5..) else {
        return refusal(Code::Internal, "the answer carried no message".into());
    };
    let message = match DynamicMessage::decode(method.output(), payload) {
        Ok(m) => m,
        Err(e) => return refusal(Code::Internal, format!("decoding the answer: {e}")),
    };
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::new(&mut out);
    if let Err(e) = message.serialize_with_options(&mut ser, &SerializeOptions::new()) {
        return refusal(Code::Internal, format!("encoding the answer: {e}"));
    }
    json_body(http::StatusCode::OK, out)
}

fn json_body(status: http::StatusCode, body: Vec<u8>) -> http::Response<Body> {
    let mut r = http::Response::new(Body::new(Full::new(Bytes::from(body))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// A refusal made here (the call never reached the gRPC stack).
#[derive(Debug)]
struct Refusal(Code, String);

impl Refusal {
    fn response(self) -> http::Response<Body> {
        status_response(&tonic::Status::new(self.0, self.1))
    }
}

fn refusal(code: Code, message: String) -> http::Response<Body> {
    Refusal(code, message).response()
}

/// `google.rpc.Status` as JSON, with the HTTP status of its code.
fn status_response(status: &tonic::Status) -> http::Response<Body> {
    let body = serde_json::to_vec(&status_json(status)).unwrap_or_default();
    json_body(http_status(status.code()), body)
}

/// The HTTP status of a gRPC code (as gRPC-gateway and Connect map them).
pub fn http_status(code: Code) -> http::StatusCode {
    use http::StatusCode as H;
    match code {
        Code::Ok => H::OK,
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => H::BAD_REQUEST,
        Code::Unauthenticated => H::UNAUTHORIZED,
        Code::PermissionDenied => H::FORBIDDEN,
        Code::NotFound => H::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => H::CONFLICT,
        Code::ResourceExhausted => H::TOO_MANY_REQUESTS,
        Code::Cancelled => H::from_u16(499).unwrap_or(H::BAD_REQUEST),
        Code::Unimplemented => H::NOT_IMPLEMENTED,
        Code::Unavailable => H::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => H::GATEWAY_TIMEOUT,
        Code::Unknown | Code::Internal | Code::DataLoss => H::INTERNAL_SERVER_ERROR,
    }
}

/// A status and the error details leadledger sends (bad request, error info, retry info),
/// in the proto3 JSON of `google.rpc.Status`.
pub fn status_json(status: &tonic::Status) -> Value {
    const TYPE: &str = "type.googleapis.com/google.rpc.";
    let d = status.get_error_details();
    let mut details = Vec::new();
    if let Some(b) = d.bad_request() {
        let violations: Vec<Value> = b
            .field_violations
            .iter()
            .map(|v| json!({"field": v.field, "description": v.description}))
            .collect();
        details.push(json!({"@type": format!("{TYPE}BadRequest"), "fieldViolations": violations}));
    }
    if let Some(i) = d.error_info() {
        details.push(json!({
            "@type": format!("{TYPE}ErrorInfo"),
            "reason": i.reason,
            "domain": i.domain,
            "metadata": i.metadata,
        }));
    }
    if let Some(r) = d.retry_info() {
        let delay = r.retry_delay.map(|d| format!("{:.3}s", d.as_secs_f64()));
        details.push(json!({"@type": format!("{TYPE}RetryInfo"), "retryDelay": delay}));
    }
    json!({"code": status.code() as i32, "message": status.message(), "details": details})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unary_method_is_found_and_streams_are_refused() {
        let m = unary_method("/leadledger.v1.IngestService/CaptureLead").expect("found");
        assert_eq!(m.input().full_name(), "leadledger.v1.CaptureLeadRequest");
        for path in [
            "/leadledger.v1.IngestService/StreamEvents",
            "/leadledger.v1.SlaService/WatchSla",
            "/leadledger.v1.IngestService/Nope",
            "/grpc.health.v1.Health/Check",
            "/",
        ] {
            let r = unary_method(path).expect_err(path).response();
            assert_eq!(r.status(), http::StatusCode::NOT_IMPLEMENTED, "{path}");
        }
    }

    #[tokio::test]
    async fn a_call_past_the_deadline_answers_504_and_a_large_body_400() {
        use tower::{Layer as _, Service as _};
        let slow = tower::service_fn(|_req: http::Request<Body>| async {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::empty()))
        });
        const MAX_MESSAGE: usize = 4 * 1024 * 1024;
        let mut svc = JsonLayer {
            deadline: Some(std::time::Duration::from_millis(200)),
            max_body: MAX_MESSAGE,
        }
        .layer(slow);
        let post = |body: Vec<u8>| {
            http::Request::post("/leadledger.v1.QueryService/GetLead")
                .header("content-type", "application/json; charset=utf-8")
                .body(Body::new(Full::new(Bytes::from(body))))
                .unwrap()
        };
        let r = svc
            .call(post(br#"{"leadId": "L-1"}"#.to_vec()))
            .await
            .unwrap();
        assert_eq!(r.status(), http::StatusCode::GATEWAY_TIMEOUT);
        let big = format!("{{\"leadId\": \"{}\"}}", "x".repeat(MAX_MESSAGE));
        let r = svc.call(post(big.into_bytes())).await.unwrap();
        assert_eq!(r.status(), http::StatusCode::BAD_REQUEST);
        let body = r.into_body().collect().await.unwrap().to_bytes();
        let j: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(j["code"], Code::OutOfRange as i32, "{j}");
    }

    #[test]
    fn field_violations_and_retry_delays_read_as_json() {
        let mut d = tonic_types::ErrorDetails::new();
        d.add_bad_request_violation("lead_id", "required");
        d.set_retry_info(Some(std::time::Duration::from_millis(500)));
        let s = tonic::Status::with_error_details(Code::InvalidArgument, "bad", d);
        let j = status_json(&s);
        assert_eq!(j["code"], 3);
        assert_eq!(j["details"][0]["fieldViolations"][0]["field"], "lead_id");
        assert_eq!(j["details"][1]["retryDelay"], "0.500s");
        assert_eq!(http_status(Code::ResourceExhausted).as_u16(), 429);
    }
}
