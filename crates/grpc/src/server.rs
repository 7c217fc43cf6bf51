//! The gRPC server: hosts the ingest and/or query services with health and reflection
//! (v1 and v1alpha, so both current tools and grpcurl 1.8 can list and call everything).
//!
//! `serve` takes a bound listener and a shutdown future, so tests start a real server on
//! port 0 and stop it cleanly.

use std::future::Future;

use leadledger_api::pb::attribution_service_server::AttributionServiceServer;
use leadledger_api::pb::ingest_service_server::IngestServiceServer;
use leadledger_api::pb::ownership_service_server::OwnershipServiceServer;
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
    pub sla: Option<crate::sla::SlaSvc>,
}

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
    let (health, health_service) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let router = tonic::transport::Server::builder()
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
        .add_optional_service(services.sla.map(SlaServiceServer::new));
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
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
    router
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}
