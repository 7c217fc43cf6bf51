//! The gRPC server: hosts the ingest and/or query services with health and reflection
//! (v1 and v1alpha, so both current tools and grpcurl 1.8 can list and call everything).
//!
//! `serve` takes a bound listener and a shutdown future, so tests start a real server on
//! port 0 and stop it cleanly. Every call passes the authentication gate first when one is
//! given ([`crate::auth`]); health follows the dependencies ([`crate::health`]) and turns
//! NOT_SERVING when the shutdown drain begins.

use std::future::Future;

use leadledger_api::pb::attribution_service_server::AttributionServiceServer;
use leadledger_api::pb::identity_service_server::IdentityServiceServer;
use leadledger_api::pb::ingest_service_server::IngestServiceServer;
use leadledger_api::pb::ownership_service_server::OwnershipServiceServer;
use leadledger_api::pb::privacy_service_server::PrivacyServiceServer;
use leadledger_api::pb::query_service_server::QueryServiceServer;
use leadledger_api::pb::sla_service_server::SlaServiceServer;
use leadledger_api::pb::FILE_DESCRIPTOR_SET;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::context::ReadContext;
use crate::{attribution::AttributionSvc, ingest::Ingest, query::QuerySvc};

/// Largest request accepted (4 MiB); tonic answers larger ones with OUT_OF_RANGE.
pub const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// The services one process hosts.
#[derive(Default, Clone)]
pub struct Services {
    pub ingest: Option<Ingest>,
    /// Hosts `QueryService` over this read context.
    pub query: Option<ReadContext>,
    pub attribution: Option<AttributionSvc>,
    /// Needs both the log and the read models (see `ownership`).
    pub ownership: Option<crate::ownership::OwnershipSvc>,
    /// Needs both the log and the database (see `privacy`).
    pub privacy: Option<crate::privacy::PrivacySvc>,
    pub identity: Option<crate::identity::IdentitySvc>,
    pub sla: Option<crate::sla::SlaSvc>,
    /// The authentication gate; `None` only with `auth.mode = none` (every caller is
    /// trusted and names its tenant).
    pub auth: Option<crate::auth::Gate>,
    /// What health checks (nothing: SERVING until the drain).
    pub dependencies: crate::health::Dependencies,
    /// The longest a call may take whatever its deadline (`None`: tonic's default, none).
    pub max_deadline: Option<std::time::Duration>,
    /// How long the shutdown drain waits for open calls (`None`: [`DRAIN`]).
    pub drain: Option<std::time::Duration>,
    /// Serve over TLS (rustls; with a client CA, mutual TLS); `None`: plaintext.
    pub tls: Option<tonic::transport::ServerTlsConfig>,
}

/// How long the shutdown drain waits for open calls by default.
pub const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Serves `services` on `listener` until `shutdown` completes, then drains in-flight calls.
pub async fn serve(
    listener: TcpListener,
    services: Services,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let closing = services.query.as_ref().map(ReadContext::closing);
    let (health, health_service) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = services.tls {
        builder = builder.tls_config(tls)?;
    }
    if let Some(max) = services.max_deadline {
        builder = builder.timeout(max);
    }
    // HTTP/1.1 too: a webhook sender posts JSON ([`crate::json`]), outermost, so its calls
    // take the same trace, metrics and gate as gRPC's.
    let router = builder
        .accept_http1(true)
        .layer(crate::json::JsonLayer {
            deadline: services.max_deadline,
            max_body: MAX_MESSAGE,
        })
        .layer(crate::trace::TraceLayer)
        .layer(crate::metrics::RpcMetricsLayer)
        .layer(crate::auth::gate::GateLayer(services.auth))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_optional_service(
            services
                .ingest
                .map(|s| IngestServiceServer::new(s).max_decoding_message_size(MAX_MESSAGE)),
        )
        .add_optional_service(services.query.map(|ctx| {
            QueryServiceServer::new(QuerySvc::new(ctx)).max_decoding_message_size(MAX_MESSAGE)
        }))
        .add_optional_service(
            services
                .attribution
                .map(|s| AttributionServiceServer::new(s).max_decoding_message_size(MAX_MESSAGE)),
        )
        .add_optional_service(services.ownership.map(OwnershipServiceServer::new))
        .add_optional_service(services.privacy.map(PrivacyServiceServer::new))
        .add_optional_service(services.identity.map(IdentityServiceServer::new))
        .add_optional_service(services.sla.map(SlaServiceServer::new));
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    let watcher = tokio::spawn(crate::health::watch(services.dependencies, health.clone()));
    // NOT_SERVING as soon as the drain begins: health checkers stop routing new calls here
    // while the calls in progress finish.
    let (fired, drain_started) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        let _ = fired.send(());
        if let Some(c) = closing {
            c.cancel();
        }
        watcher.abort();
        health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        tracing::info!("draining: health NOT_SERVING");
    };
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, "gRPC server listening");
    // TCP_NODELAY on every accepted connection: without it a response written as several
    // segments (headers, data, trailers) waits for the client's delayed ACK — measured here
    // as a ~40 ms floor on small queries.
    let incoming = tokio_stream::StreamExt::map(TcpListenerStream::new(listener), |s| {
        if let Ok(stream) = &s {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::warn!(error = %e, "cannot set TCP_NODELAY");
            }
        }
        s
    });
    let serving = router.serve_with_incoming_shutdown(incoming, shutdown);
    // The drain waits for the calls in progress, and a stream that never ends by itself (a
    // `WatchSla` subscriber) would hold it forever: past `drain` the remaining calls are cut.
    let drain = services.drain.unwrap_or(DRAIN);
    let cut = async move {
        match drain_started.await {
            Ok(()) => tokio::time::sleep(drain).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = serving => served?,
        () = cut => tracing::warn!(?drain, "calls still open after the drain (e.g. WatchSla subscribers): closing them"),
    }
    Ok(())
}
