//! `leadledger-soak`: what `make soak` (scripts/soak.sh) runs once the roles are up. The script
//! starts each role as its own release process (`leadledger serve --role ingest|projector|
//! query|sla`) on one fresh topic and database and passes their pids here; this binary
//!
//! 1. drives simulated traffic at a fixed rate for a fixed time (marketing facts in `Append`
//!    batches, CRM facts over one long-lived `StreamEvents` stream, as `leadledger simulate`
//!    sends them) plus a light query load (`GetLead` with the consistency token of a recent
//!    append, `Funnel` by channel);
//! 2. samples every few seconds the VmRSS and VmHWM of each role process, the projector lag
//!    (topic end offsets − the core projection's checkpoints) and the achieved rate;
//! 3. stops the load, waits (bounded) for the lag to return to zero;
//! 4. judges the run (memory ceiling, bounded memory, lag back to zero, rate sustained),
//!    writes docs/BENCHMARKS-soak.md and the "RSS per role" block of docs/BENCHMARKS.md, and
//!    exits non-zero if a check failed.
//!
//! # Layout
//! - `main.rs`: flags and the run.
//! - [`load`]: the traffic (generator, appends, stream, queries) and its counters.
//! - [`sample`]: /proc and lag sampling.
//! - [`verdict`]: the rules and what they found.
//! - [`report`]: the Markdown.

#![forbid(unsafe_code)]

mod load;
mod report;
mod sample;
mod verdict;

#[path = "../../machine.rs"]
mod machine;
#[path = "../../splice.rs"]
mod splice;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use leadledger_api::pb::ingest_service_client::IngestServiceClient;
use leadledger_api::pb::query_service_client::QueryServiceClient;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::load::Counters;
use crate::sample::{Phase, Sampler};

/// The roles, in the order every table lists them.
pub const ROLES: [&str; 4] = ["ingest", "projector", "query", "sla"];

/// Fixed-rate soak of a leadledger deployment with one process per role.
#[derive(Parser, Debug)]
#[command(name = "leadledger-soak")]
pub struct Args {
    /// Ingest endpoint.
    #[arg(long)]
    ingest: String,
    /// Query endpoint.
    #[arg(long)]
    query: String,
    /// A role's process: `role=pid`, once per role (ingest, projector, query, sla).
    #[arg(long = "pid", value_parser = parse_pid, required = true)]
    pids: Vec<(String, u32)>,
    /// The events topic the roles use.
    #[arg(long)]
    topic: String,
    /// The roles' database.
    #[arg(long)]
    database_url: String,
    /// Kafka bootstrap servers.
    #[arg(long, env = "LEADLEDGER_KAFKA", default_value = "127.0.0.1:9092")]
    brokers: String,
    /// Events per second sent.
    #[arg(long, default_value_t = 2000.0)]
    pub rate: f64,
    /// Duration of the load, in seconds.
    #[arg(long, default_value_t = 600.0)]
    pub seconds: f64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 5.0)]
    pub sample_secs: f64,
    /// `GetLead` calls per second (with the token of a recent append).
    #[arg(long, default_value_t = 20.0)]
    pub query_rate: f64,
    /// Seconds between `Funnel` calls (by channel).
    #[arg(long, default_value_t = 5.0)]
    pub funnel_secs: f64,
    /// Longest wait for the lag to return to zero after the load stops, in seconds.
    #[arg(long, default_value_t = 120.0)]
    pub drain_secs: f64,
    /// Memory ceiling per role (VmHWM), in MB (10^6 bytes).
    #[arg(long, default_value_t = 300.0)]
    pub rss_target_mb: f64,
    /// Bounded memory: largest allowed growth of the mean RSS from the middle third of the
    /// load to the last third, as a share of the middle third's mean...
    #[arg(long, default_value_t = 0.10)]
    pub growth_tolerance: f64,
    /// ...or in MB, whichever is larger (allocator noise on a small process).
    #[arg(long, default_value_t = 16.0)]
    pub growth_floor_mb: f64,
    /// Least achieved rate, as a share of `--rate`, for the rate to count as sustained.
    #[arg(long, default_value_t = 0.95)]
    pub rate_floor: f64,
    /// Seed of the first simulated chunk (chunk k uses seed + k).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write the soak report.
    #[arg(long, default_value = "docs/BENCHMARKS-soak.md")]
    out: PathBuf,
    /// The bench report that gets the "RSS per role" block.
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    bench_doc: PathBuf,
    /// The command that started the soak, for the report (default: this process's).
    #[arg(long)]
    command: Option<String>,
    /// Print the summary only; write nothing.
    #[arg(long)]
    no_write: bool,
}

fn parse_pid(s: &str) -> Result<(String, u32), String> {
    let (role, pid) = s.split_once('=').ok_or("expected role=pid")?;
    if !ROLES.contains(&role) {
        return Err(format!("unknown role {role:?} (one of {ROLES:?})"));
    }
    Ok((role.to_string(), pid.parse().map_err(|e| format!("{e}"))?))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LEADLEDGER_BENCH_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("soak: FAILED (see the verdict above)");
            std::process::ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("soak: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Runs the soak; `Ok(passed)`.
async fn run(args: Args) -> anyhow::Result<bool> {
    anyhow::ensure!(
        args.rate > 0.0 && args.seconds > 0.0 && args.sample_secs > 0.0,
        "rate, duration and sample interval must be positive"
    );
    if cfg!(debug_assertions) {
        eprintln!("soak: WARNING: debug build of the driver (use --release)");
    }
    let mut pids = Vec::new();
    for role in ROLES {
        let pid = args
            .pids
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, p)| *p)
            .with_context(|| format!("--pid {role}=PID is missing"))?;
        pids.push(pid);
    }
    let sampler = Sampler::connect(&args.brokers, &args.topic, &args.database_url, pids)
        .await
        .context("connecting the sampler")?;
    let postgres = sampler.postgres_version().await?;
    let ingest_ch = connect(&args.ingest).await?;
    let query_ch = connect(&args.query).await?;
    let ingest = IngestServiceClient::new(ingest_ch).max_decoding_message_size(16 << 20);
    let query = QueryServiceClient::new(query_ch).max_decoding_message_size(16 << 20);

    eprintln!("soak: warm-up (one append read back through the projector)");
    let warm = load::warm_up(&ingest, &query, args.seed).await?;
    eprintln!(
        "soak: warm-up done in {:.2} s; {} events/s for {} s, sampling every {} s",
        warm.as_secs_f64(),
        args.rate,
        args.seconds,
        args.sample_secs
    );

    let counters = Arc::new(Counters::default());
    let stop = CancellationToken::new();
    let load_cfg = load::LoadConfig {
        rate: args.rate,
        seed: args.seed,
        query_rate: args.query_rate,
        funnel_every: Duration::from_secs_f64(args.funnel_secs.max(0.1)),
    };
    let started = Instant::now();
    let mut driver = tokio::spawn(load::drive(
        load_cfg,
        ingest.clone(),
        query.clone(),
        counters.clone(),
        stop.clone(),
    ));

    let mut samples = Vec::new();
    samples.push(sampler.take(0.0, Phase::Load, &counters).await?);
    let every = Duration::from_secs_f64(args.sample_secs);
    let load_for = Duration::from_secs_f64(args.seconds);
    let mut next = every;
    while next < load_for {
        tokio::select! {
            _ = tokio::time::sleep_until((started + next).into()) => {}
            r = &mut driver => {
                anyhow::bail!("the load stopped early: {:?}", r);
            }
        }
        let s = sampler
            .take(next.as_secs_f64(), Phase::Load, &counters)
            .await?;
        eprintln!("soak: {}", s.line(&counters));
        samples.push(s);
        next += every;
    }
    tokio::time::sleep_until((started + load_for).into()).await;
    stop.cancel();
    let load_end = started.elapsed();
    let at_stop = counters.snapshot();
    samples.push(
        sampler
            .take(load_end.as_secs_f64(), Phase::Load, &counters)
            .await?,
    );
    eprintln!("soak: load stopped; waiting for in-flight calls and the lag to return to zero");
    driver.await.context("load task")??;
    let drained = counters.snapshot();

    // Drain: lag polled every 250 ms, a full sample every `sample_secs`.
    let drain_limit = Duration::from_secs_f64(args.drain_secs);
    let drain_started = Instant::now();
    let mut next_sample = drain_started + every;
    let mut back_to_zero = None;
    loop {
        let lag = sampler.lag().await?;
        if lag == 0 {
            back_to_zero = Some(load_end + drain_started.elapsed());
            break;
        }
        if drain_started.elapsed() >= drain_limit {
            break;
        }
        if Instant::now() >= next_sample {
            let s = sampler
                .take(started.elapsed().as_secs_f64(), Phase::Drain, &counters)
                .await?;
            eprintln!("soak: {}", s.line(&counters));
            samples.push(s);
            next_sample += every;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let last = sampler
        .take(started.elapsed().as_secs_f64(), Phase::Drain, &counters)
        .await?;
    eprintln!("soak: {}", last.line(&counters));
    samples.push(last);

    let run = verdict::Run {
        args: &args,
        warm_up: warm,
        load_secs: load_end.as_secs_f64(),
        at_stop,
        drained,
        counters: &counters,
        samples: &samples,
        back_to_zero: back_to_zero.map(|t| t.as_secs_f64()),
    };
    let v = verdict::judge(&run);
    let machine = machine::Machine::probe(postgres);
    print!("{}", report::summary(&run, &v));
    if !args.no_write {
        let when = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
        let command = args
            .command
            .clone()
            .unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" "));
        let page = report::page(&run, &v, &machine, &when, &command);
        std::fs::write(&args.out, page)
            .with_context(|| format!("writing {}", args.out.display()))?;
        println!("soak: wrote {}", args.out.display());
        let doc = std::fs::read_to_string(&args.bench_doc).unwrap_or_default();
        let block = report::bench_block(&run, &v, &when, &args.out);
        std::fs::write(&args.bench_doc, splice::splice(&doc, &block))
            .with_context(|| format!("writing {}", args.bench_doc.display()))?;
        println!(
            "soak: updated the RSS per role section of {}",
            args.bench_doc.display()
        );
    }
    Ok(v.passed())
}

async fn connect(addr: &str) -> anyhow::Result<Channel> {
    Channel::from_shared(addr.to_string())?
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))
}
