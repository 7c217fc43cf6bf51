//! Freshness: how long after an `Append` is acknowledged a read that asks for it (with the
//! consistency token) gets its answer.
//!
//! The full deployment runs in process: one server hosting ingest and query, and a projector
//! task, on a fresh topic and database. After one warm-up event (so the projector's group
//! join is not counted), `Append` calls of `batch` events are started on a fixed schedule
//! (open loop: a slow call does not delay the next; `rate` events per second in all), and
//! as soon as each is acked a `GetLead` of its last event's lead with the call's
//! consistency token is sent; the query waits until the projection has applied the whole
//! call. Freshness = ack → `GetLead` response, one sample per call.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use leadledger_api::pb::query_service_client::QueryServiceClient;
use leadledger_api::pb::{self, ingest_service_client::IngestServiceClient};
use leadledger_grpc::context::ReadContext;
use leadledger_grpc::ingest::Ingest;
use leadledger_grpc::server::{serve, Services};
use leadledger_log::{EventProducer, LogConfig};
use leadledger_store::Store;
use leadledger_workers::projector::{self, ProjectorConfig};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::measure::Percentiles;
use crate::workload::Workload;

/// Deadline of each `GetLead` (the query waits for the token up to shortly before it).
const READ_DEADLINE: Duration = Duration::from_secs(30);

/// What the freshness phase measured.
pub struct FreshnessRun {
    /// Events per second.
    pub target_rate: f64,
    /// Events per `Append` call.
    pub batch: usize,
    pub seconds: f64,
    /// Append calls started.
    pub sent: usize,
    /// Appends acked and then read back.
    pub ok: usize,
    /// Failures by step and status code.
    pub errors: BTreeMap<String, usize>,
    /// Acked events per second, first call to last ack.
    pub achieved_rate: f64,
    /// Ack → `GetLead` response.
    pub fresh: Percentiles,
    /// `Append` call latency.
    pub append: Percentiles,
}

struct Sample {
    append: Duration,
    fresh: Duration,
    acked_at: Duration,
}

/// Runs the freshness phase on `log`'s topic and `store`.
pub async fn run(
    log: &LogConfig,
    store: &Store,
    w: &Workload,
    rate: f64,
    batch: usize,
    seconds: f64,
) -> anyhow::Result<FreshnessRun> {
    anyhow::ensure!(
        rate > 0.0 && seconds > 0.0 && batch > 0,
        "rate, batch and duration must be positive"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // Ingest seals contacts through connections of its own (as the ingest role, a process of
    // its own, does), not the readers'.
    let keys = Store::connect_with(store.pool.connect_options().as_ref().clone(), 4).await?;
    let services = Services {
        ingest: Some(Ingest::new(EventProducer::new(log)?, keys)),
        query: Some(ReadContext::new(store.clone(), &log.topic)),
        attribution: None,
        ..Default::default()
    };
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve(listener, services, stop.clone().cancelled_owned()));
    let mut pcfg = ProjectorConfig::new(log.clone());
    pcfg.group = format!("{}.bench-fresh", log.topic);
    let projector = tokio::spawn(projector::run(
        projector::Deps {
            cfg: pcfg,
            store: store.clone(),
        },
        stop.clone(),
    ));

    let channel = Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await
        .context("connecting to the in-process server")?;
    let ingest = IngestServiceClient::new(channel.clone());
    let query = QueryServiceClient::new(channel);

    // Warm-up: the projector joins its group and applies a first event.
    one(
        &ingest,
        &query,
        &w.tenant,
        vec![w.wire[0].clone()],
        Duration::from_secs(60),
    )
    .await
    .map_err(|e| anyhow::anyhow!("warm-up append + read: {e}"))?;

    let calls = ((rate * seconds / batch as f64).round() as usize).max(1);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(batch as f64 / rate));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for i in 0..calls {
        ticker.tick().await;
        let events: Vec<pb::Event> = (0..batch)
            .map(|j| w.wire[(1 + i * batch + j) % w.count()].clone())
            .collect();
        let (ingest, query, tenant) = (ingest.clone(), query.clone(), w.tenant.clone());
        tasks.spawn(async move {
            let t0 = Instant::now();
            one(&ingest, &query, &tenant, events, READ_DEADLINE)
                .await
                .map(|(append, fresh)| Sample {
                    append,
                    fresh,
                    acked_at: (t0 + append) - started,
                })
        });
    }
    let mut samples = Vec::with_capacity(calls);
    let mut errors = BTreeMap::new();
    while let Some(r) = tasks.join_next().await {
        match r? {
            Ok(s) => samples.push(s),
            Err(e) => *errors.entry(e).or_insert(0) += 1,
        }
    }
    stop.cancel();
    server.await??;
    projector.await??;

    let window = samples.iter().map(|s| s.acked_at).max().unwrap_or_default();
    Ok(FreshnessRun {
        target_rate: rate,
        batch,
        seconds,
        sent: calls,
        ok: samples.len(),
        errors,
        achieved_rate: (samples.len() * batch) as f64 / window.as_secs_f64().max(1e-9),
        fresh: Percentiles::of(samples.iter().map(|s| s.fresh).collect()),
        append: Percentiles::of(samples.iter().map(|s| s.append).collect()),
    })
}

/// Appends `events` in one call, then reads the last one's lead with the call's consistency
/// token. Returns (append latency, ack → read response), or the failing step and status code.
async fn one(
    ingest: &IngestServiceClient<Channel>,
    query: &QueryServiceClient<Channel>,
    tenant: &str,
    events: Vec<pb::Event>,
    deadline: Duration,
) -> Result<(Duration, Duration), String> {
    let lead_id = events.last().map(|e| e.lead_id.clone()).unwrap_or_default();
    let t0 = Instant::now();
    let resp = ingest
        .clone()
        .append(pb::AppendRequest {
            tenant_id: tenant.to_string(),
            events,
        })
        .await
        .map_err(|s| format!("Append: {:?}", s.code()))?
        .into_inner();
    let acked = Instant::now();
    let mut req = tonic::Request::new(pb::GetLeadRequest {
        tenant_id: tenant.to_string(),
        lead_id,
        consistency_token: resp.consistency_token,
    });
    req.set_timeout(deadline);
    query
        .clone()
        .get_lead(req)
        .await
        .map_err(|s| format!("GetLead: {:?}", s.code()))?;
    Ok((acked - t0, acked.elapsed()))
}
