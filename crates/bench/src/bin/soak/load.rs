//! The soak's traffic: simulated facts at a fixed rate and a light query load.
//!
//! Facts come from `leadledger_sim` in chunks of [`CHUNK_LEADS`] leads, chunk k seeded
//! `seed + k` and its lead ids prefixed `S<k>-`, generated on a thread of their own just
//! ahead of need: an endless stream of new leads with the simulator's mix (captures,
//! touches, MQLs, hand-offs, follow-ups, feedback, POCs, deals, duplicates and late
//! deliveries), and a lead's timeline stays as long as the simulator makes it. Every 100 ms
//! the facts due by then (rate × elapsed) are sent: the CRM's (`salesforce`) one by one over
//! a single long-lived `StreamEvents` stream, the others in one `Append` (open loop: calls
//! are not awaited before the next tick), as `leadledger simulate` splits them.
//!
//! Queries: `GetLead` of the lead of the latest acked `Append`, with its consistency token
//! (the query waits until the projection applied it), `--query-rate` times a second, at
//! most [`READS_IN_FLIGHT`] in flight (a tick finding them all busy is counted as skipped);
//! and `Funnel` grouped by channel every `--funnel-secs`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use leadledger_api::pb::ingest_service_client::IngestServiceClient;
use leadledger_api::pb::query_service_client::QueryServiceClient;
use leadledger_api::pb::{self, stream_events_response::Result as Streamed};
use leadledger_domain::validate::MAX_BATCH;
use leadledger_sim::{generate, SimConfig};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::Code;

/// Leads per generated chunk.
pub const CHUNK_LEADS: usize = 2000;
/// How often the facts due are sent.
pub const TICK: Duration = Duration::from_millis(100);
/// `GetLead` calls in flight at most.
pub const READS_IN_FLIGHT: usize = 8;
/// Deadline of each query.
pub const READ_DEADLINE: Duration = Duration::from_secs(5);
/// The source system whose facts are streamed (the simulated CRM adapter).
const CRM_SYSTEM: &str = "salesforce";

/// What the load does.
pub struct LoadConfig {
    pub rate: f64,
    pub seed: u64,
    pub query_rate: f64,
    pub funnel_every: Duration,
}

/// What the load did so far; shared with the sampler.
#[derive(Default)]
pub struct Counters {
    /// Events handed to `Append` or the stream.
    pub sent: AtomicU64,
    /// Events acknowledged (by `Append` responses and stream acks).
    pub acked: AtomicU64,
    /// `Append` calls acknowledged.
    pub appends: AtomicU64,
    /// Events acknowledged over the stream.
    pub streamed: AtomicU64,
    /// Chunks generated (each [`CHUNK_LEADS`] leads).
    pub chunks: AtomicU64,
    /// Failed calls or events, by step and status code.
    pub errors: Mutex<BTreeMap<String, u64>>,
    /// Latency of each answered `GetLead`.
    pub reads: Mutex<Vec<Duration>>,
    /// Latency of each answered `Funnel`.
    pub funnels: Mutex<Vec<Duration>>,
    /// `GetLead` ticks skipped because [`READS_IN_FLIGHT`] calls were still running.
    pub reads_skipped: AtomicU64,
}

/// Sent and acked at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub sent: u64,
    pub acked: u64,
}

impl Counters {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            sent: self.sent.load(Relaxed),
            acked: self.acked.load(Relaxed),
        }
    }

    fn error(&self, what: String) {
        *lock(&self.errors).entry(what).or_insert(0) += 1;
    }

    /// Failed writes (events lost to the load), as opposed to failed reads.
    pub fn write_errors(&self) -> u64 {
        lock(&self.errors)
            .iter()
            .filter(|(k, _)| k.starts_with("Append") || k.starts_with("StreamEvents"))
            .map(|(_, n)| n)
            .sum()
    }
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Chunk `k`: the deliveries of [`CHUNK_LEADS`] simulated leads, seed `seed + k`, lead ids
/// prefixed so chunks never share a lead.
pub fn chunk(seed: u64, k: u64) -> Vec<pb::Event> {
    let sim = generate(&SimConfig {
        seed: seed.wrapping_add(k),
        leads: CHUNK_LEADS,
        ..SimConfig::default()
    });
    // Lead facts only: each chunk's leads get ids of their own, which spend (filed under its
    // own key) must not.
    let mut events = sim.lead_deliveries();
    for e in &mut events {
        e.lead_id = format!("S{k}-{}", e.lead_id);
    }
    events
}

fn tenant() -> String {
    SimConfig::default().tenant
}

/// One event appended and read back with its token (the projector joins its group and
/// applies a first event); returns how long it took.
pub async fn warm_up(
    ingest: &IngestServiceClient<Channel>,
    query: &QueryServiceClient<Channel>,
    seed: u64,
) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let sim = generate(&SimConfig {
        seed: seed.wrapping_add(u64::MAX / 2),
        leads: 1,
        ..SimConfig::default()
    });
    let mut event = sim.lead_deliveries().swap_remove(0);
    event.lead_id = format!("warm-up-{}", event.lead_id);
    let lead_id = event.lead_id.clone();
    let resp = ingest
        .clone()
        .append(pb::AppendRequest {
            tenant_id: tenant(),
            events: vec![event],
        })
        .await
        .context("warm-up Append")?
        .into_inner();
    let mut req = tonic::Request::new(pb::GetLeadRequest {
        tenant_id: tenant(),
        lead_id,
        consistency_token: resp.consistency_token,
    });
    req.set_timeout(Duration::from_secs(120));
    query
        .clone()
        .get_lead(req)
        .await
        .context("warm-up GetLead")?;
    Ok(t0.elapsed())
}

/// Sends the load until `stop`, then waits for every call in flight and the stream's acks.
pub async fn drive(
    cfg: LoadConfig,
    ingest: IngestServiceClient<Channel>,
    query: QueryServiceClient<Channel>,
    counters: Arc<Counters>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    // Generator thread, two chunks ahead at most.
    let (gen_tx, mut gen_rx) = mpsc::channel::<Vec<pb::Event>>(2);
    let seed = cfg.seed;
    let gen_counters = counters.clone();
    let generator = std::thread::spawn(move || {
        for k in 0.. {
            let c = chunk(seed, k);
            gen_counters.chunks.fetch_add(1, Relaxed);
            if gen_tx.blocking_send(c).is_err() {
                break;
            }
        }
    });

    // The CRM adapter's stream.
    let (stream_tx, stream_rx) = mpsc::unbounded_channel::<pb::StreamEventsRequest>();
    let mut responses = ingest
        .clone()
        .stream_events(UnboundedReceiverStream::new(stream_rx))
        .await
        .context("opening StreamEvents")?
        .into_inner();
    let c = counters.clone();
    let reader = tokio::spawn(async move {
        loop {
            match responses.message().await {
                Ok(Some(m)) => match m.result {
                    Some(Streamed::Ack(_)) => {
                        c.acked.fetch_add(1, Relaxed);
                        c.streamed.fetch_add(1, Relaxed);
                    }
                    Some(Streamed::Error(e)) => {
                        c.error(format!("StreamEvents event: {:?}", Code::from(e.code)))
                    }
                    None => c.error("StreamEvents event: empty response".into()),
                },
                Ok(None) => return,
                Err(s) => {
                    c.error(format!("StreamEvents stream: {:?}", s.code()));
                    return;
                }
            }
        }
    });

    let recent: Arc<Mutex<Option<(String, String)>>> = Arc::default();
    let queries = tokio::spawn(query_load(
        cfg.query_rate,
        cfg.funnel_every,
        query,
        recent.clone(),
        counters.clone(),
        stop.clone(),
    ));

    let mut appends = JoinSet::new();
    let mut buffer: VecDeque<pb::Event> = VecDeque::new();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let started = Instant::now();
    let mut sent: u64 = 0;
    let tenant = tenant();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let due = (cfg.rate * started.elapsed().as_secs_f64()) as u64;
        let n = due.saturating_sub(sent);
        let mut batch = Vec::new();
        for _ in 0..n {
            if buffer.is_empty() {
                buffer.extend(gen_rx.recv().await.context("the generator stopped")?);
            }
            let Some(e) = buffer.pop_front() else {
                anyhow::bail!("the generator gave an empty chunk");
            };
            if e.source.as_ref().is_some_and(|s| s.system == CRM_SYSTEM) {
                let req = pb::StreamEventsRequest {
                    tenant_id: tenant.clone(),
                    event: Some(e),
                };
                if stream_tx.send(req).is_err() {
                    counters.error("StreamEvents stream: closed".into());
                }
            } else {
                batch.push(e);
            }
        }
        sent += n;
        counters.sent.fetch_add(n, Relaxed);
        for events in batch.chunks(MAX_BATCH) {
            appends.spawn(append(
                ingest.clone(),
                tenant.clone(),
                events.to_vec(),
                counters.clone(),
                recent.clone(),
            ));
        }
        while let Some(r) = appends.try_join_next() {
            r.context("append task")?;
        }
    }
    drop(stream_tx);
    while let Some(r) = appends.join_next().await {
        r.context("append task")?;
    }
    if tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .is_err()
    {
        counters.error("StreamEvents stream: acks still missing 60 s after the load".into());
    }
    queries.await.context("query task")?;
    drop(gen_rx);
    generator
        .join()
        .map_err(|_| anyhow::anyhow!("the generator panicked"))?;
    Ok(())
}

/// One `Append` call, retried on UNAVAILABLE (ids are idempotent).
async fn append(
    mut client: IngestServiceClient<Channel>,
    tenant: String,
    events: Vec<pb::Event>,
    counters: Arc<Counters>,
    recent: Arc<Mutex<Option<(String, String)>>>,
) {
    let n = events.len() as u64;
    let lead = events.last().map(|e| e.lead_id.clone()).unwrap_or_default();
    let mut pause = Duration::from_millis(100);
    for attempt in 1.. {
        let req = pb::AppendRequest {
            tenant_id: tenant.clone(),
            events: events.clone(),
        };
        match client.append(req).await {
            Ok(r) => {
                counters.acked.fetch_add(n, Relaxed);
                counters.appends.fetch_add(1, Relaxed);
                *lock(&recent) = Some((lead, r.into_inner().consistency_token));
                return;
            }
            Err(s) if s.code() == Code::Unavailable && attempt < 5 => {
                counters.error("Append retried: Unavailable".into());
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(s) => {
                counters.error(format!("Append: {:?}", s.code()));
                return;
            }
        }
    }
}

/// `GetLead` of the latest acked append (with its token) and `Funnel` by channel, until
/// `stop`; then waits for the calls in flight.
async fn query_load(
    rate: f64,
    funnel_every: Duration,
    query: QueryServiceClient<Channel>,
    recent: Arc<Mutex<Option<(String, String)>>>,
    counters: Arc<Counters>,
    stop: CancellationToken,
) {
    let period = if rate > 0.0 {
        Duration::from_secs_f64(1.0 / rate)
    } else {
        Duration::from_secs(86_400)
    };
    let mut reads = tokio::time::interval(period);
    reads.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut funnels = tokio::time::interval(funnel_every);
    funnels.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let slots = Arc::new(Semaphore::new(READS_IN_FLIGHT));
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = reads.tick() => {
                let Some((lead_id, token)) = lock(&recent).clone() else { continue };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    counters.reads_skipped.fetch_add(1, Relaxed);
                    continue;
                };
                let (mut q, c) = (query.clone(), counters.clone());
                tasks.spawn(async move {
                    let mut req = tonic::Request::new(pb::GetLeadRequest {
                        tenant_id: tenant(),
                        lead_id,
                        consistency_token: token,
                    });
                    req.set_timeout(READ_DEADLINE);
                    let t0 = Instant::now();
                    match q.get_lead(req).await {
                        Ok(_) => lock(&c.reads).push(t0.elapsed()),
                        Err(s) => c.error(format!("GetLead: {:?}", s.code())),
                    }
                    drop(slot);
                });
            }
            _ = funnels.tick() => {
                let (mut q, c) = (query.clone(), counters.clone());
                tasks.spawn(async move {
                    let mut req = tonic::Request::new(pb::FunnelRequest {
                        tenant_id: tenant(),
                        group_by: vec![pb::FunnelDimension::Channel as i32],
                        ..Default::default()
                    });
                    req.set_timeout(READ_DEADLINE);
                    let t0 = Instant::now();
                    match q.funnel(req).await {
                        Ok(_) => lock(&c.funnels).push(t0.elapsed()),
                        Err(s) => c.error(format!("Funnel: {:?}", s.code())),
                    }
                });
            }
        }
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_do_not_share_leads_or_ids() {
        let a = super::chunk(42, 0);
        let b = super::chunk(42, 1);
        assert!(a.len() > super::CHUNK_LEADS);
        assert!(a.iter().all(|e| e.lead_id.starts_with("S0-L-")));
        assert!(b.iter().all(|e| e.lead_id.starts_with("S1-L-")));
        let ids = |v: &[leadledger_api::pb::Event]| -> std::collections::HashSet<String> {
            v.iter()
                .filter_map(|e| e.source.as_ref().map(|s| s.event_id.clone()))
                .collect()
        };
        assert!(ids(&a).is_disjoint(&ids(&b)));
    }
}
