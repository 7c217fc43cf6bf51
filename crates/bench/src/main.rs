//! `leadledger-bench`: what `make bench` runs. Measures ingest and projector throughput
//! against raw Kafka and PostgreSQL baselines taken in the same run, and append → read
//! freshness, against the real broker and PostgreSQL; prints a summary and writes
//! docs/BENCHMARKS.md.
//!
//! Phases, each on fresh topics (unique names) and fresh databases (dropped when done):
//! `--rounds` times (median reported): 1. raw producer → topic A; 2. ingest `Append` →
//! topic B; 3. raw consumer ← topic B; 4. projector ← topic B into a new database;
//! 5. raw `COPY` into a scratch table of that database. Then once: 6. raw log latency
//! (producer ack → consumer receipt, one record at a time) on topic C, and freshness:
//! ingest + query + projector on topic D and a new database.
//!
//! # Layout
//! - `main.rs`: flags, orchestration, writing the doc.
//! - [`allocator`]: the `leadledger` binary's allocator file (jemalloc), included by path.
//! - [`setup`]: fresh topics and databases, end offsets.
//! - [`workload`]: the seeded simulated events, in wire and log form.
//! - [`baseline`]: raw producer, raw consumer, raw `COPY`.
//! - [`cpu`]: user + system time of the bench process and of a database's backends (/proc).
//! - [`ingest`]: `Append` through an in-process server.
//! - [`machine`]: where it ran (also the soak's machine block).
//! - [`projector`]: the real projector over a filled topic.
//! - [`freshness`]: fixed-rate append + read-your-write latency.
//! - [`figures`]: what was measured (rounds, medians, targets) and the machine.
//! - [`measure`]: throughput and latency percentiles, the measures every phase reports.
//! - [`report`]: the stdout summary and the Markdown of docs/BENCHMARKS.md.
//! - [`splice`]: the soak's block in docs/BENCHMARKS.md (`make soak`), kept on rewrite.

// Denied, not forbidden: the allocator options are one exported symbol (allocator.rs).
#![deny(unsafe_code)]

#[path = "../../cli/src/allocator.rs"]
mod allocator;
mod baseline;
mod cpu;
mod figures;
mod freshness;
mod ingest;
mod machine;
mod measure;
mod projector;
mod report;
mod setup;
mod splice;
mod workload;

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

use crate::figures::{Figures, Machine, Round};
use crate::setup::Env;
use crate::workload::Workload;

/// Throughput and freshness of leadledger against raw baselines measured in the same run.
#[derive(Parser, Debug)]
#[command(name = "leadledger-bench")]
struct Args {
    /// Events per throughput phase. With 20 000 a phase lasts about a second and the group
    /// join of the raw consumer swung its ratio by a factor of two from round to round.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Seed of the simulated quarter the events come from.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Partitions of every topic the bench creates.
    #[arg(long, default_value_t = 6)]
    partitions: i32,
    /// Rounds of the throughput phases (1–5); the report gives medians.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Events per `Append` call in the ingest phase (1..500).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// `Append` calls in flight in the ingest phase.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Events per second of the freshness phases, each run on its own topic and database
    /// with its own raw-log baseline (issue 20: 1 000 and 5 000 events/s).
    #[arg(long, value_delimiter = ',', default_value = "1000,5000")]
    fresh_rates: Vec<f64>,
    /// Events per `Append` call in the freshness phase: calls per second = rate / batch.
    /// 1 measures one-event calls (a CPU-bound 5 000 gRPC calls/s plus as many reads on
    /// 2 cores at 5 000 events/s); 10 is a marketing-automation client sending what it
    /// gathered in the last few milliseconds.
    #[arg(long, default_value_t = 10)]
    fresh_batch: usize,
    /// Duration of the freshness phase, in seconds.
    #[arg(long, default_value_t = 10.0)]
    fresh_secs: f64,
    /// Kafka bootstrap servers.
    #[arg(long, env = "LEADLEDGER_KAFKA", default_value = "127.0.0.1:9092")]
    brokers: String,
    /// PostgreSQL server URL, without a database (databases are created and dropped).
    #[arg(
        long,
        env = "LEADLEDGER_BENCH_PG",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    pg: String,
    /// Where to write the Markdown report.
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    out: PathBuf,
    /// Print the summary only; do not write the report.
    #[arg(long)]
    no_write: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LEADLEDGER_BENCH_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    anyhow::ensure!(
        (1..=leadledger_domain::validate::MAX_BATCH).contains(&args.batch),
        "--batch must be 1..{}",
        leadledger_domain::validate::MAX_BATCH
    );
    if cfg!(debug_assertions) {
        eprintln!("bench: WARNING: debug build; figures are not representative (use --release)");
    }
    let mut env = Env {
        brokers: args.brokers.clone(),
        pg: args.pg.trim_end_matches('/').to_string(),
        partitions: args.partitions,
        databases: Vec::new(),
    };
    let result = run(&args, &mut env).await;
    env.drop_databases().await;
    let (figures, machine) = result?;

    print!("{}", report::summary(&figures));
    if !args.no_write {
        let when = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        let mut text = report::markdown(&figures, &machine, &when, &command);
        // The soak's "RSS per role" section (`make soak`) lives in the same file: keep it.
        let old = std::fs::read_to_string(&args.out).unwrap_or_default();
        if let Some(block) = splice::extract(&old) {
            text = splice::splice(&text, block);
        }
        if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&args.out, text)
            .with_context(|| format!("writing {}", args.out.display()))?;
        println!("bench: wrote {}", args.out.display());
    }
    Ok(())
}

async fn run(args: &Args, env: &mut Env) -> anyhow::Result<(Figures, Machine)> {
    let step = |s: &str| eprintln!("bench: {s}");
    step(&format!(
        "generating {} events (seed {})",
        args.events, args.seed
    ));
    let w = Workload::build(args.seed, args.events)?;
    let postgres = postgres_version(&env.pg).await?;

    let mut rounds = Vec::with_capacity(args.rounds);
    for r in 1..=args.rounds.max(1) {
        step(&format!("round {r}/{}", args.rounds.max(1)));
        rounds.push(round(args, env, &w).await?);
    }

    anyhow::ensure!(
        (1..=leadledger_domain::validate::MAX_BATCH).contains(&args.fresh_batch),
        "--fresh-batch must be 1..{}",
        leadledger_domain::validate::MAX_BATCH
    );
    let mut freshness = Vec::with_capacity(args.fresh_rates.len());
    for &rate in &args.fresh_rates {
        anyhow::ensure!(rate > 0.0, "--fresh-rates must be positive, got {rate}");
        step(&format!(
            "6 raw log latency, then freshness ({rate} events/s in appends of {} for {} s each)",
            args.fresh_batch, args.fresh_secs
        ));
        freshness.push(fresh_phase(args, env, &w, rate).await?);
    }

    let figures = Figures {
        events: w.count(),
        distinct: w.distinct,
        leads: w.leads,
        value_bytes: w.value_bytes(),
        partitions: args.partitions,
        batch: args.batch,
        concurrency: args.concurrency,
        rounds,
        freshness,
    };
    Ok((figures, Machine::probe(postgres)))
}

/// Phase 6 at `rate` events/s: the raw log's latency, then freshness on a fresh topic and
/// database.
async fn fresh_phase(
    args: &Args,
    env: &mut Env,
    w: &Workload,
    rate: f64,
) -> anyhow::Result<figures::Fresh> {
    let latency_log = env.topic("latency").await?;
    let log =
        baseline::log_latency(&env.brokers, &latency_log.topic, w, rate, args.fresh_secs).await?;
    let fresh_log = env.topic("fresh").await?;
    let fresh_store = env.database("fresh").await?;
    // Distinct events for the whole phase (a workload that wrapped around would send
    // duplicates, which the projector skips at a fraction of the cost).
    let needed = (rate * args.fresh_secs).ceil() as usize + 1;
    let larger;
    let fresh_w = if needed > w.count() {
        larger = Workload::build(args.seed ^ 0xf7e5, needed)?;
        &larger
    } else {
        w
    };
    let run = freshness::run(
        &fresh_log,
        &fresh_store,
        fresh_w,
        rate,
        args.fresh_batch,
        args.fresh_secs,
    )
    .await?;
    fresh_store.pool.close().await;
    env.drop_databases().await;
    Ok(figures::Fresh { run, log })
}

/// [`projector::run`], checked to have written the `distinct` events, and the CPU it cost:
/// the bench process's, and that of the PostgreSQL backends of `store`'s database (read
/// before its pool closes).
async fn projector_measured(
    log: &leadledger_log::LogConfig,
    store: &leadledger_store::Store,
    ends: &std::collections::BTreeMap<i32, i64>,
    records: usize,
    distinct: usize,
) -> anyhow::Result<(projector::ProjectorRun, figures::Cpu)> {
    let before = cpu::of_self();
    let run = projector::run(log, store, ends, records).await?;
    let process = cpu::since(before);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM lead_events")
        .fetch_one(&store.pool)
        .await?;
    anyhow::ensure!(
        rows == distinct as i64,
        "the projector wrote {rows} events into {}, expected {distinct} distinct",
        log.topic
    );
    let db = store
        .pool
        .connect_options()
        .get_database()
        .unwrap_or_default()
        .to_string();
    let postgres = cpu::backends_of(&store.pool, &db).await;
    Ok((run, figures::Cpu { process, postgres }))
}

/// Phases 1–5 on fresh topics and a fresh database.
async fn round(args: &Args, env: &mut Env, w: &Workload) -> anyhow::Result<Round> {
    let step = |s: &str| eprintln!("bench:   {s}");
    step("1 raw producer");
    let raw_topic = env.topic("raw").await?;
    let produce = baseline::produce(&env.brokers, &raw_topic.topic, w).await?;

    step("2 ingest Append");
    let ingest_log = env.topic("ingest").await?;
    // The projector's database: ingest makes the contacts' data keys there.
    let store = env.database("projector").await?;
    let cpu_before = cpu::of_self();
    let ingest = ingest::run(
        &ingest_log,
        &store,
        w,
        args.batch,
        args.concurrency,
        ingest::Access::Open,
    )
    .await?;
    let ingest_cpu = cpu::since(cpu_before);
    let ends = env.end_offsets(&ingest_log.topic).await?;
    // N events and the warm-up one.
    let records = w.count() + 1;
    let written: i64 = ends.values().sum();
    anyhow::ensure!(
        written == records as i64,
        "topic {} holds {written} records, expected {records}",
        ingest_log.topic,
    );

    step("3 raw consumer");
    let consume = baseline::consume(&env.brokers, &ingest_log.topic, records).await?;

    step("4 projector");
    let (projected, projector_cpu) =
        projector_measured(&ingest_log, &store, &ends, records, w.distinct).await?;

    step("5 raw COPY");
    let copy = baseline::copy(&store, w, args.partitions).await?;

    step("2g ingest Append through the authentication gate");
    let keys = env.database("keys").await?;
    let gated_log = env.topic("gated").await?;
    let access = ingest::Access::gated(&keys, &w.tenant).await?;
    let gated = ingest::run(&gated_log, &keys, w, args.batch, args.concurrency, access).await?;
    keys.pool.close().await;

    step("4r projector as an app role under row-level security");
    let rls_store = env.database_as_app_role("rls").await?;
    setup::copy_contact_keys(&store, &rls_store).await?;
    store.pool.close().await;
    let (rls, rls_cpu) =
        projector_measured(&ingest_log, &rls_store, &ends, records, w.distinct).await?;
    rls_store.pool.close().await;
    env.drop_databases().await;
    Ok(Round {
        ingest_gated: gated.run,
        projector_rls: rls.run,
        ingest_cpu,
        projector_cpu,
        projector_rls_cpu: rls_cpu,
        produce,
        ingest: ingest.run,
        ingest_calls: ingest.calls,
        consume,
        projector: projected.run,
        projector_totals: projected.totals,
        copy,
    })
}

/// `SELECT version()` of the server.
async fn postgres_version(pg: &str) -> anyhow::Result<String> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&format!("{pg}/postgres"))
        .await
        .with_context(|| format!("connecting to {pg}"))?;
    let v: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(v)
}
