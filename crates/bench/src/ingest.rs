//! Ingest throughput: an in-process gRPC server hosting only `IngestService` (on
//! 127.0.0.1:0, the real `serve`; open, or behind the authentication gate), and a tonic
//! client sending the workload's wire events in `Append` calls of `batch` events,
//! `concurrency` calls in flight.
//!
//! Untimed warm-up: one one-event `Append`. Timed: from the first call to the last response;
//! every event must come back acked. The requests are built before the clock starts.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::stream::{self, StreamExt};
use leadledger_api::pb::{self, ingest_service_client::IngestServiceClient};
use leadledger_grpc::auth::client::BearerKey;
use leadledger_grpc::auth::{key, Gate, GateConfig, KeyRing};
use leadledger_grpc::ingest::Ingest;
use leadledger_grpc::server::{serve, Services};
use leadledger_log::{EventProducer, LogConfig};
use leadledger_store::Store;
use tokio_util::sync::CancellationToken;

use crate::measure::{Percentiles, Throughput};
use crate::workload::Workload;

/// What the ingest phase measured.
pub struct IngestRun {
    pub run: Throughput,
    /// Latency of one `Append` call.
    pub calls: Percentiles,
}

/// Who the ingest server lets in.
pub enum Access {
    /// Everyone (`auth.mode = none`).
    Open,
    /// Callers with a key: the gate, and the key every call carries.
    Gated { gate: Gate, key: String },
}

impl Access {
    /// The gate over the API keys of `store` with one key of `tenant` (scope `ingest`), its
    /// limits set out of reach: the figure is what authenticating each call costs (hash, ring
    /// lookup, rate and concurrency accounting), never a throttle.
    pub async fn gated(store: &Store, tenant: &str) -> anyhow::Result<Self> {
        let made = key::issue(
            store,
            &key::Grant {
                tenant_id: tenant,
                name: "bench",
                scopes: &["ingest".to_string()],
                expires_at: None,
                client_cert: "",
            },
        )
        .await?;
        let ring = KeyRing::load(store.clone(), Duration::from_secs(3600)).await?;
        let gate = Gate::new(
            ring,
            GateConfig {
                open_health: true,
                rate_per_sec: 1_000_000,
                burst: 1_000_000,
                concurrency: 100_000,
            },
        );
        Ok(Self::Gated {
            gate,
            key: made.key,
        })
    }
}

/// Runs the workload through `Append` into `log`'s topic, the contacts' data keys made in
/// `keys` (the database the projector then reads them from).
pub async fn run(
    log: &LogConfig,
    keys: &Store,
    w: &Workload,
    batch: usize,
    concurrency: usize,
    access: Access,
) -> anyhow::Result<IngestRun> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (gate, key) = match access {
        Access::Open => (None, String::new()),
        Access::Gated { gate, key } => (Some(gate), key),
    };
    // Ingest's own connections to the keys' database (the ingest role is a process of its
    // own): closed after the phase, so the projector's PostgreSQL CPU is the projector's.
    let own = Store::connect_with(keys.pool.connect_options().as_ref().clone(), 4).await?;
    let services = Services {
        ingest: Some(Ingest::new(EventProducer::new(log)?, own.clone())),
        query: None,
        attribution: None,
        auth: gate,
        ..Default::default()
    };
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve(listener, services, stop.clone().cancelled_owned()));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await
        .context("connecting to the in-process ingest server")?;
    // An empty key sends no header (the open server).
    let client = IngestServiceClient::new(
        BearerKey::new(&key)
            .map_err(anyhow::Error::msg)?
            .on(channel),
    );

    // Warm-up, untimed: one event through the whole path, so the server's producer has its
    // producer id and the topic's metadata (see `baseline::WARM_UP`). The topic then holds
    // N + 1 records, the extra one a duplicate of the first event.
    let warm = Instant::now();
    client
        .clone()
        .append(pb::AppendRequest {
            tenant_id: w.tenant.clone(),
            events: vec![w.wire[0].clone()],
        })
        .await
        .context("warm-up Append")?;
    let warmup = warm.elapsed();

    let requests: Vec<pb::AppendRequest> = w
        .wire
        .chunks(batch)
        .map(|events| pb::AppendRequest {
            tenant_id: w.tenant.clone(),
            events: events.to_vec(),
        })
        .collect();
    let started = Instant::now();
    let results: Vec<anyhow::Result<(usize, Duration, Duration)>> = stream::iter(requests)
        .map(|req| {
            let mut c = client.clone();
            async move {
                let n = req.events.len();
                let t0 = Instant::now();
                let resp = c.append(req).await.context("Append")?.into_inner();
                anyhow::ensure!(resp.acks.len() == n, "{n} events, {} acks", resp.acks.len());
                Ok((n, t0.elapsed(), started.elapsed()))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    stop.cancel();
    server.await??;
    own.pool.close().await;

    let mut acked = 0;
    let mut calls = Vec::with_capacity(results.len());
    let mut first: Option<Duration> = None;
    for r in results {
        let (n, d, done) = r?;
        acked += n;
        calls.push(d);
        first = Some(first.map_or(done, |f| f.min(done)));
    }
    anyhow::ensure!(acked == w.count(), "{acked} of {} events acked", w.count());
    Ok(IngestRun {
        run: Throughput {
            events: acked,
            elapsed,
            startup: first,
            warmup: Some(warmup),
        },
        calls: Percentiles::of(calls),
    })
}
