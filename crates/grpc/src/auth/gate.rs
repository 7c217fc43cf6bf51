//! The gate every call passes before a service sees it: authentication (the bearer key, or a
//! client certificate bound to a tenant), the
//! scope the RPC needs, and the key's limits (rate and concurrency, a stream counting until
//! it ends). A tower layer on the whole server ([`GateLayer`]), so no service can forget
//! it; the [`Caller`] it admits travels in the request's extensions to [`crate::tenant`].

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use leadledger_api::ApiError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use super::cert;
use super::ring::KeyRing;
use super::scope::{required, Caller, Required};
use crate::body::Watched;

/// The gate's settings (`auth.*` and `limits.*`, docs/SECURITY.md).
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// Health and reflection answer without a key.
    pub open_health: bool,
    /// Calls per second per key (0: no limit).
    pub rate_per_sec: u32,
    /// Calls a key may make at once above its rate.
    pub burst: u32,
    /// Calls of one key in progress at once (0: no limit).
    pub concurrency: u32,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            open_health: true,
            rate_per_sec: 1000,
            burst: 2000,
            concurrency: 64,
        }
    }
}

type Keyed = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// The authentication gate (on the server through [`GateLayer`]).
#[derive(Clone)]
pub struct Gate {
    ring: KeyRing,
    cfg: GateConfig,
    rate: Option<Arc<Keyed>>,
    in_flight: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

/// An admitted call: its caller (none for an open RPC), the key's rate (for services that
/// count each message of a stream) and its concurrency permit.
struct Admission {
    caller: Option<Caller>,
    rate: Option<MessageRate>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Gate {
    pub fn new(ring: KeyRing, cfg: GateConfig) -> Self {
        let rate = NonZeroU32::new(cfg.rate_per_sec).map(|per_sec| {
            let burst = NonZeroU32::new(cfg.burst.max(cfg.rate_per_sec)).unwrap_or(per_sec);
            Arc::new(RateLimiter::keyed(
                Quota::per_second(per_sec).allow_burst(burst),
            ))
        });
        Self {
            ring,
            cfg,
            rate,
            in_flight: Arc::default(),
        }
    }

    async fn admit(
        &self,
        path: &str,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Admission, ApiError> {
        let need = required(path, self.cfg.open_health);
        if need == Required::Open {
            return Ok(Admission {
                caller: None,
                rate: None,
                permit: None,
            });
        }
        let caller = self.authenticate(headers, extensions).await?;
        if let Required::Scope(scope) = need {
            if !caller.allows(scope) {
                return Err(ApiError::PermissionDenied(format!(
                    "credential llk_{} lacks the `{scope}` scope this RPC needs",
                    caller.key_id
                )));
            }
        }
        let rate = self.rate.as_ref().map(|rate| MessageRate {
            rate: rate.clone(),
            key_id: caller.key_id.clone(),
            per_sec: self.cfg.rate_per_sec,
        });
        if let Some(rate) = &rate {
            rate.check()?;
        }
        let permit = match self.cfg.concurrency {
            0 => None,
            n => {
                let sem = self
                    .in_flight
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(caller.key_id.clone())
                    .or_insert_with(|| Arc::new(Semaphore::new(n as usize)))
                    .clone();
                Some(sem.try_acquire_owned().map_err(|_| ApiError::Exhausted {
                    message: format!(
                        "API key llk_{} has {n} calls in progress, its limit; retry when one ends",
                        caller.key_id
                    ),
                    retry_after: Duration::from_millis(100),
                })?)
            }
        };
        Ok(Admission {
            caller: Some(caller),
            rate,
            permit,
        })
    }

    /// Who the call comes from: the bearer key when one is sent, else the client
    /// certificate's binding (mutual TLS). A key and a bound certificate naming two
    /// tenants are refused: the connection and the call would speak for different tenants.
    async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Caller, ApiError> {
        let now = chrono::Utc::now();
        let peer = cert::peer_identities(extensions).filter(|ids| !ids.is_empty());
        if headers.get(http::header::AUTHORIZATION).is_some() || peer.is_none() {
            let caller = self.ring.verify(bearer(headers)?, now).await?;
            if let Some(ids) = &peer {
                // Cached bindings only: a key on an unbound certificate (mutual TLS as transport
                // security) must not make the ring reload.
                if let Ok(Some(bound)) = self.ring.bound_cert(ids, now) {
                    if bound.tenant != caller.tenant {
                        return Err(ApiError::PermissionDenied(format!(
                            "the client certificate is bound to another tenant than API key llk_{} \
                             (binding llk_{})",
                            caller.key_id, bound.key_id
                        )));
                    }
                }
            }
            return Ok(caller);
        }
        let ids = peer.unwrap_or_default();
        self.ring.verify_cert(&ids, now).await?.ok_or_else(|| {
            ApiError::Unauthenticated(format!(
                "no API key, and the client certificate ({}) is bound to no tenant: send \
                 `authorization: Bearer llk_<id>_<secret>` or bind it with `leadledger keys \
                 create --client-cert`",
                ids.join(", ")
            ))
        })
    }
}

/// The key of `authorization: Bearer <key>`.
fn bearer(headers: &http::HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Err(ApiError::Unauthenticated(
            "no API key: send `authorization: Bearer llk_<id>_<secret>`".into(),
        ));
    };
    let value = value.to_str().unwrap_or("");
    let (scheme, key) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || key.trim().is_empty() {
        return Err(ApiError::Unauthenticated(
            "malformed authorization header: expected `Bearer llk_<id>_<secret>`".into(),
        ));
    }
    Ok(key.trim())
}

/// The gate as a tower layer; `None` (`auth.mode = none`) lets every call through.
#[derive(Clone)]
pub struct GateLayer(pub Option<Gate>);

impl<S> tower::Layer<S> for GateLayer {
    type Service = Gated<S>;

    fn layer(&self, inner: S) -> Gated<S> {
        Gated {
            inner,
            gate: self.0.clone(),
        }
    }
}

/// A service behind the [`Gate`].
#[derive(Clone)]
pub struct Gated<S> {
    inner: S,
    gate: Option<Gate>,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B, RB> tower::Service<http::Request<B>> for Gated<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
    RB: http_body::Body + Default + Unpin + Send + 'static,
{
    type Response = http::Response<Held<RB>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        // The clone that was made ready stays with this call (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let Some(gate) = self.gate.clone() else {
            return Box::pin(async move { Ok(Watched::wrap(inner.call(req).await?, None)) });
        };
        Box::pin(async move {
            let path = req.uri().path().to_string();
            match gate.admit(&path, req.headers(), req.extensions()).await {
                Err(e) => {
                    tracing::info!(rpc = %path, error = %e, "call refused at the gate");
                    Ok(Watched::wrap(Status::from(e).into_http::<RB>(), None))
                }
                Ok(admission) => {
                    if let Some(rate) = admission.rate {
                        req.extensions_mut().insert(rate);
                    }
                    if let Some(caller) = admission.caller {
                        req.extensions_mut().insert(caller);
                    }
                    // The permit lives as long as the response body: a stream (StreamEvents,
                    // WatchSla) counts against the key's concurrency until it ends.
                    Ok(Watched::wrap(inner.call(req).await?, admission.permit))
                }
            }
        })
    }
}

/// A response body that holds the call's concurrency permit until it is dropped.
pub type Held<B> = Watched<B, Option<OwnedSemaphorePermit>>;

impl crate::body::Watch for Option<OwnedSemaphorePermit> {}

/// The key's rate limit: checked once per call by the gate, and put in the request's
/// extensions (when the key has a limit) for services that count each message of a stream
/// as a call (`StreamEvents`).
#[derive(Clone)]
pub struct MessageRate {
    rate: Arc<Keyed>,
    key_id: String,
    per_sec: u32,
}

impl MessageRate {
    /// Counts one message; RESOURCE_EXHAUSTED with the wait when over the limit.
    pub fn check(&self) -> Result<(), ApiError> {
        self.rate.check_key(&self.key_id).map_err(|not_until| {
            let wait = not_until
                .wait_time_from(DefaultClock::default().now())
                .max(Duration::from_millis(1));
            ApiError::Exhausted {
                message: format!(
                    "API key llk_{} is over its rate limit ({} calls/s); retry in {} ms",
                    self.key_id,
                    self.per_sec,
                    wait.as_millis()
                ),
                retry_after: wait,
            }
        })
    }
}
