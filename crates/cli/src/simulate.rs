//! `leadledger simulate`: generates a seeded synthetic quarter (see `leadledger-sim`) and
//! sends it to the ingest RPC as a marketing tool and a CRM adapter would: marketing facts in
//! `Append` batches, CRM facts over one `StreamEvents` stream, both in delivery order with
//! duplicates and late facts, retrying UNAVAILABLE and RESOURCE_EXHAUSTED (ids are idempotent).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use leadledger_api::pb::{self, ingest_service_client::IngestServiceClient};
use leadledger_grpc::auth::client::{BearerKey, KeyedChannel};
use leadledger_grpc::token::Token;
use leadledger_sim::{generate, SimConfig};
use tonic::Code;

use crate::config::Config;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seed: the same seed always gives the same quarter.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Leads captured during the quarter.
    #[arg(long, default_value_t = 5000)]
    leads: usize,
    /// Tenant to write to.
    #[arg(long, default_value = "demo")]
    tenant: String,
    /// Ingest endpoint (default: http://<server.listen>).
    #[arg(long)]
    addr: Option<String>,
    /// Events per Append call (1..500).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Append calls in flight.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Write the final consistency token here (for `report --token-file`).
    #[arg(long)]
    token_out: Option<PathBuf>,
    /// Write the end of the simulated quarter here, RFC 3339 (for `report --as-of`).
    #[arg(long)]
    as_of_out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub async fn run(cfg: &Config, key: &BearerKey, args: Args) -> anyhow::Result<()> {
    anyhow::ensure!((1..=500).contains(&args.batch), "--batch must be 1..500");
    let addr = args
        .addr
        .clone()
        .unwrap_or_else(|| format!("http://{}", cfg.listen));
    let sim = generate(&SimConfig {
        seed: args.seed,
        leads: args.leads,
        tenant: args.tenant.clone(),
        ..SimConfig::default()
    });
    if let Some(path) = &args.as_of_out {
        let as_of = SimConfig::default().as_of.to_rfc3339();
        std::fs::write(path, as_of).with_context(|| format!("writing {}", path.display()))?;
    }
    let total = sim.deliveries.len();
    eprintln!(
        "simulate: {} leads, {} deliveries ({} distinct facts) for tenant {:?} → {addr}",
        sim.expected.leads, total, sim.expected.distinct_events, args.tenant
    );
    let client = IngestServiceClient::new(crate::client::connect(&addr, key).await?)
        .max_decoding_message_size(16 * 1024 * 1024);
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    // Marketing automation appends in batches; the CRM adapter streams its facts one by one.
    let (crm, marketing): (Vec<pb::Event>, Vec<pb::Event>) = sim
        .deliveries
        .into_iter()
        .partition(|e| e.source.as_ref().is_some_and(|s| s.system == CRM_SYSTEM));
    let batches: Vec<Vec<pb::Event>> = marketing.chunks(args.batch).map(<[_]>::to_vec).collect();
    let tenant = args.tenant.clone();
    let appends = async {
        let mut token = Token::default();
        let mut results = stream::iter(batches.into_iter().map(|events| {
            let mut c = client.clone();
            let tenant = tenant.clone();
            let bar = bar.clone();
            async move {
                let n = events.len() as u64;
                let r = append_with_retry(&mut c, &tenant, events).await;
                bar.inc(n);
                r
            }
        }))
        .buffer_unordered(args.concurrency.max(1));
        while let Some(r) = results.next().await {
            merge(&mut token, &r?.consistency_token)?;
        }
        anyhow::Ok(token)
    };
    let streamed = stream_crm(client.clone(), &tenant, crm, &bar);
    let (mut token, streamed) = tokio::try_join!(appends, streamed)?;
    for t in streamed {
        merge(&mut token, &t)?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "simulate: sent {total} events in {secs:.1} s ({:.0} events/s)",
        total as f64 / secs.max(1e-9)
    );
    let e = &sim.expected;
    let signed: u64 = e.reached_by_channel.values().map(|r| r[4]).sum();
    eprintln!(
        "simulate: expected after projection: {} leads, {} signed, revenue {:.2} CNY, \
         collected {:.2} CNY",
        e.leads,
        signed,
        e.signed_amount_minor as f64 / 100.0,
        e.collected_amount_minor as f64 / 100.0
    );
    let encoded = token.encode();
    if let Some(path) = &args.token_out {
        std::fs::write(path, &encoded).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{encoded}");
    Ok(())
}

/// The source system whose facts the simulated CRM adapter streams.
const CRM_SYSTEM: &str = "salesforce";

/// Folds a consistency token into `into` (highest offset per partition).
fn merge(into: &mut Token, token: &str) -> anyhow::Result<()> {
    if let Some(t) = Token::parse(token).map_err(|e| anyhow::anyhow!("{e}"))? {
        into.merge(t).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

/// Streams `events` over one `StreamEvents` call, as a CRM adapter does. Events the server
/// did not append for a passing reason (UNAVAILABLE, or RESOURCE_EXHAUSTED: the stream ran
/// past the key's rate limit) are re-sent with `Append` afterwards; any other refusal is
/// an error (the simulator only generates valid facts). Returns the tokens of the acks.
async fn stream_crm(
    mut client: IngestServiceClient<KeyedChannel>,
    tenant: &str,
    events: Vec<pb::Event>,
    bar: &ProgressBar,
) -> anyhow::Result<Vec<String>> {
    use pb::stream_events_response::Result as R;
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let requests: Vec<pb::StreamEventsRequest> = events
        .iter()
        .map(|e| pb::StreamEventsRequest {
            tenant_id: tenant.to_string(),
            event: Some(e.clone()),
        })
        .collect();
    let mut responses = client
        .stream_events(stream::iter(requests))
        .await
        .map_err(|s| anyhow::anyhow!("StreamEvents failed: {s}"))?
        .into_inner();
    let mut tokens = Vec::new();
    let mut retry = Vec::new();
    let mut over_limit = 0usize;
    while let Some(r) = responses
        .message()
        .await
        .map_err(|s| anyhow::anyhow!("StreamEvents broke: {s}"))?
    {
        bar.inc(1);
        match r.result {
            Some(R::Ack(_)) => tokens.push(r.consistency_token),
            // Not appended for a passing reason: the log was unavailable, or the stream ran
            // past the key's rate limit (`limits.rate_per_sec` counts each streamed event).
            Some(R::Error(e))
                if e.code == Code::Unavailable as i32
                    || e.code == Code::ResourceExhausted as i32 =>
            {
                over_limit += usize::from(e.code == Code::ResourceExhausted as i32);
                let i = usize::try_from(r.sequence)?;
                retry.push(events[i].clone());
            }
            Some(R::Error(e)) => anyhow::bail!("event {} refused: {}", r.sequence, e.message),
            None => anyhow::bail!("empty stream response {}", r.sequence),
        }
    }
    if !retry.is_empty() {
        eprintln!(
            "simulate: {over_limit} streamed events over the API key's rate limit and {} with \
             the log unavailable; re-sending them with Append",
            retry.len() - over_limit
        );
    }
    for chunk in retry.chunks(500) {
        tokens.push(
            append_with_retry(&mut client, tenant, chunk.to_vec())
                .await?
                .consistency_token,
        );
    }
    Ok(tokens)
}

async fn append_with_retry(
    client: &mut IngestServiceClient<KeyedChannel>,
    tenant: &str,
    events: Vec<pb::Event>,
) -> anyhow::Result<pb::AppendResponse> {
    let mut pause = Duration::from_millis(200);
    for attempt in 1.. {
        let req = pb::AppendRequest {
            tenant_id: tenant.to_string(),
            events: events.clone(),
        };
        match client.append(req).await {
            Ok(r) => return Ok(r.into_inner()),
            Err(s)
                if matches!(s.code(), Code::Unavailable | Code::ResourceExhausted)
                    && attempt < 10 =>
            {
                tracing::warn!(attempt, status = %s, "append not taken now; retrying (idempotent)");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(s) => return Err(anyhow::anyhow!("append failed: {s}")),
        }
    }
    unreachable!("the loop returns")
}
