//! The figures of one run, the machine they were measured on, and how they are written:
//! a plain-text summary for stdout and the Markdown of docs/BENCHMARKS.md.

use std::fmt::Write as _;
use std::time::Duration;

use leadledger_services::projector::Totals;

/// Target: ingest `Append` rate / raw producer rate.
pub const INGEST_TARGET: f64 = 0.70;
/// Target: projector rate / raw consumer rate.
pub const PROJECTOR_TARGET: f64 = 0.50;

/// Events moved in a measured time.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub events: usize,
    pub elapsed: Duration,
    /// Time to the first record read (consumer) or first batch committed (projector).
    pub startup: Option<Duration>,
}

impl Throughput {
    /// Events per second.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Latency percentiles (nearest rank).
#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Percentiles {
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let rank = |q: f64| -> Duration {
            if samples.is_empty() {
                return Duration::ZERO;
            }
            let i = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[i - 1]
        };
        Self {
            count: samples.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

/// Where the figures were measured.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    pub postgres: String,
    pub broker: String,
    pub build: &'static str,
}

impl Machine {
    /// Reads /proc and `uname -r`; `postgres` comes from `SELECT version()`.
    pub fn probe(postgres: String) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".into(), |(_, v)| v.trim().to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or_else(
                || "unknown".into(),
                |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0),
            );
        let kernel = std::process::Command::new("uname")
            .arg("-r")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Self {
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model,
            memory,
            kernel,
            postgres,
            broker: "Tansu 0.6.0, SQLite storage engine on tmpfs (/dev/shm)".into(),
            build: if cfg!(debug_assertions) {
                "debug (figures NOT representative)"
            } else {
                "release"
            },
        }
    }
}

/// Everything one run measured.
pub struct Figures {
    pub events: usize,
    pub distinct: usize,
    pub leads: usize,
    pub value_bytes: usize,
    pub partitions: i32,
    pub batch: usize,
    pub concurrency: usize,
    pub produce: Throughput,
    pub ingest: Throughput,
    pub ingest_calls: Percentiles,
    pub consume: Throughput,
    pub projector: Throughput,
    pub projector_totals: Totals,
    pub copy: Throughput,
    pub freshness: crate::freshness::FreshnessRun,
    pub log_latency: Percentiles,
}

impl Figures {
    pub fn ingest_ratio(&self) -> f64 {
        self.ingest.rate() / self.produce.rate()
    }
    pub fn projector_ratio(&self) -> f64 {
        self.projector.rate() / self.consume.rate()
    }
    pub fn projector_copy_ratio(&self) -> f64 {
        self.projector.rate() / self.copy.rate()
    }
}

/// `1234567.8` → `1,234,568`.
pub fn int(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn pct(r: f64) -> String {
    format!("{:.0} %", r * 100.0)
}

/// "met" or "missed by N points (needs M× the rate)".
pub fn verdict(ratio: f64, target: f64) -> String {
    if ratio >= target {
        format!("met (+{:.0} points)", (ratio - target) * 100.0)
    } else {
        format!(
            "**missed** by {:.0} points (needs {:.2}× its rate)",
            (target - ratio) * 100.0,
            target / ratio.max(1e-9)
        )
    }
}

fn startup(t: &Throughput) -> String {
    t.startup.map_or_else(|| "–".into(), secs)
}

/// The throughput table, Markdown.
fn table(f: &Figures) -> String {
    let mut s = String::new();
    s.push_str("| # | Measure | Events | Time | First record / batch | Rate (events/s) | Compared with | Ratio | Target | Verdict |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---|---:|---:|---|\n");
    let row = |s: &mut String, n: &str, what: &str, t: &Throughput, rest: &str| {
        let _ = writeln!(
            s,
            "| {n} | {what} | {} | {} | {} | {} | {rest} |",
            t.events,
            secs(t.elapsed),
            startup(t),
            int(t.rate())
        );
    };
    row(
        &mut s,
        "1",
        "Raw producer (rdkafka, idempotent, acks=all)",
        &f.produce,
        "baseline | | | ",
    );
    row(
        &mut s,
        "2",
        &format!(
            "Ingest `Append` ({} events/call, {} calls in flight)",
            f.batch, f.concurrency
        ),
        &f.ingest,
        &format!(
            "(1) | {} | ≥ {} | {}",
            pct(f.ingest_ratio()),
            pct(INGEST_TARGET),
            verdict(f.ingest_ratio(), INGEST_TARGET)
        ),
    );
    row(
        &mut s,
        "3",
        "Raw consumer (StreamConsumer, from offset 0)",
        &f.consume,
        "baseline | | | ",
    );
    row(
        &mut s,
        "4",
        "Projector (log → PostgreSQL read models)",
        &f.projector,
        &format!(
            "(3) | {} | ≥ {} | {}",
            pct(f.projector_ratio()),
            pct(PROJECTOR_TARGET),
            verdict(f.projector_ratio(), PROJECTOR_TARGET)
        ),
    );
    row(
        &mut s,
        "5",
        "Raw `COPY` of `lead_events`-shaped rows",
        &f.copy,
        &format!(
            "projector (4) / this | {} | – | reported",
            pct(f.projector_copy_ratio())
        ),
    );
    s
}

fn freshness_table(f: &crate::freshness::FreshnessRun, log: &Percentiles) -> String {
    let mut s = String::new();
    s.push_str("| Measure | Target rate | Achieved rate | Done / started | p50 | p99 | max |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        s,
        "| Raw log: producer ack → consumer receipt (baseline) | {} /s | – | {} / {} | {} | {} | {} |",
        int(f.target_rate),
        log.count,
        f.sent,
        ms(log.p50),
        ms(log.p99),
        ms(log.max),
    );
    let _ = writeln!(
        s,
        "| **Freshness: `Append` ack → `GetLead` response** | {} /s | {} /s | {} / {} | {} | {} | {} |",
        int(f.target_rate),
        int(f.achieved_rate),
        f.ok,
        f.sent,
        ms(f.fresh.p50),
        ms(f.fresh.p99),
        ms(f.fresh.max),
    );
    let _ = writeln!(
        s,
        "| `Append` call (one event) | {} /s | {} /s | {} / {} | {} | {} | {} |",
        int(f.target_rate),
        int(f.achieved_rate),
        f.append.count,
        f.sent,
        ms(f.append.p50),
        ms(f.append.p99),
        ms(f.append.max),
    );
    let _ = writeln!(
        s,
        "\nEach phase ran for {:.0} s at the target rate; freshness p50 is {:.1}× the raw \
         log's p50.",
        f.seconds,
        f.fresh.p50.as_secs_f64() / log.p50.as_secs_f64().max(1e-9)
    );
    for (what, n) in &f.errors {
        let _ = writeln!(s, "\nFailures: {n} × {what}");
    }
    s
}

/// docs/BENCHMARKS.md.
pub fn markdown(f: &Figures, m: &Machine, when: &str, command: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# leadledger benchmarks\n");
    let _ = writeln!(
        s,
        "Written by `make bench` (crate `crates/bench`, binary `leadledger-bench`); every \
         figure below comes from one run, and every ratio compares two figures of that same \
         run (the machine is shared and noisy: compare ratios, not absolute rates, across \
         runs).\n"
    );
    let _ = writeln!(s, "- Run: {when}");
    let _ = writeln!(s, "- Command: `{command}`");
    let _ = writeln!(s, "- Build: {}", m.build);
    let _ = writeln!(s, "- CPU: {} × {}", m.cpus, m.cpu_model);
    let _ = writeln!(s, "- Memory: {}", m.memory);
    let _ = writeln!(s, "- Kernel: {}", m.kernel);
    let _ = writeln!(s, "- Broker: {}", m.broker);
    let _ = writeln!(s, "- PostgreSQL: {}", m.postgres);
    let _ = writeln!(
        s,
        "- Workload: the first {} deliveries of a simulated quarter ({} leads simulated, seed \
         fixed; {} distinct events, the rest retried duplicates), {} bytes of record values \
         ({} bytes per event on average), {} partitions per topic\n",
        f.events,
        f.leads,
        f.distinct,
        f.value_bytes,
        f.value_bytes / f.events.max(1),
        f.partitions
    );
    let _ = writeln!(s, "## How to run\n");
    let _ = writeln!(
        s,
        "```sh\nmake bench                      # = bash scripts/bench.sh\nbash scripts/bench.sh --help    # flags: --events, --fresh-rate, --fresh-secs, ...\n```\n"
    );
    let _ = writeln!(
        s,
        "`scripts/bench.sh` brings up the broker and PostgreSQL, builds \
         `cargo build --release -p leadledger-bench`, runs it, and it rewrites this file.\n"
    );
    let _ = writeln!(s, "## Throughput\n");
    s.push_str(&table(f));
    let _ = writeln!(
        s,
        "\n`Append` call latency ({} calls): p50 {}, p99 {}, max {}. Projector totals: {} \
         applied, {} duplicates skipped, {} dead letters, {} batches ({:.0} records per batch).\n",
        f.ingest_calls.count,
        ms(f.ingest_calls.p50),
        ms(f.ingest_calls.p99),
        ms(f.ingest_calls.max),
        f.projector_totals.applied,
        f.projector_totals.duplicates,
        f.projector_totals.dead_letters,
        f.projector_totals.batches,
        f.events as f64 / f.projector_totals.batches.max(1) as f64,
    );
    let _ = writeln!(s, "## Freshness (append → read-your-write)\n");
    s.push_str(&freshness_table(&f.freshness, &f.log_latency));
    let _ = writeln!(s, "\n## Notes\n");
    s.push_str(NOTES);
    s
}

const NOTES: &str = "\
- **Kafka headers are off everywhere** (`LogConfig.headers = false` for leadledger's \
producer, no headers on the raw baseline's records either). Tansu 0.6.0's SQLite engine \
stores each record header as a row and its fetch gets slower as header rows accumulate in \
the broker, so leadledger runs without them against Tansu (it never needs them: the value \
carries everything); the baseline does the same so both write identical records.
- **Release build.** The bench is built with `--release`. A debug build is several times \
slower in protobuf, JSON and the fold, so its figures say nothing about production; the \
\"Build\" line above says which one produced this file.
- **What is timed.**
  1. Raw producer: the ingest-prepared events (ids, `recorded_at`, event type and trace set \
by the same `prepare` ingest uses) pre-encoded with prost, keyed by lead id, sent with \
leadledger's `producer_config` (idempotent, `acks=all`, `linger.ms=2`), all in flight, \
clock stopped when the last acknowledgement arrives.
  2. Ingest: an in-process server (the real `serve`, ingest only, on 127.0.0.1:0) and a \
tonic client over loopback; requests are built before the clock starts; clock stops at the \
last `Append` response. Includes validation, id derivation, encoding, the producer and gRPC.
  3. Raw consumer: a `StreamConsumer` with leadledger's `consumer_config` and a fresh group \
reading the topic written in (2) from offset 0; the clock includes consumer creation and the \
group join (\"First record\" column) until the N-th record is received.
  4. Projector: the real `projector::run` with production settings (batch ≤ 2000, 2 ms \
linger) on a fresh migrated database, fresh group, same topic as (3); the clock includes \
the group join and stops when the checkpoints in PostgreSQL reach the topic's end offsets \
(polled every 10 ms). Decoding, the JSON rows, the insert, the re-fold of every touched lead \
and the checkpoint are all inside.
  5. Raw COPY: the same N events as `lead_events` rows (jsonb body, bytea raw value; retried \
duplicates get a fresh id) in CSV, built before the clock starts, `COPY ... FROM STDIN` into \
a table created `LIKE lead_events INCLUDING ALL` (same keys and index). It is a floor for \
one table's insert cost only: the projector also reads back and re-folds every touched \
lead and writes three more tables, so no target is set for this ratio.
  6. Raw log latency: on a fresh topic a consumer with leadledger's consumer settings is \
reading (group joined, warm-up record read) the producer sends one record at a time at the \
freshness rate (open loop); latency = the producer's ack → the consumer receiving it. It is \
the floor under freshness: what the broker and `fetch.wait.max.ms` cost before any \
leadledger code runs.
  7. Freshness: ingest + query + projector in one process on a fresh topic and database; \
after one warm-up event, one-event `Append` calls start on a fixed schedule (open loop), \
and each ack is immediately followed by `GetLead` with its consistency token (the query \
waits until the projection applied it). Freshness = ack → `GetLead` response. Achieved \
rate = acked appends / (first call → last ack).
- Every phase uses fresh topics (unique names) and the projector phases fresh databases, \
dropped at the end. Topics are left on the broker (tmpfs; `bash scripts/broker.sh down` \
and removing `/dev/shm/leadledger-broker` clears them).
- Client, server, projector, broker and PostgreSQL share the same 2 cores, so every figure \
includes contention with the others; ratios are what to compare.
";

/// The stdout summary.
pub fn summary(f: &Figures) -> String {
    let mut s = String::new();
    let line = |s: &mut String, what: &str, t: &Throughput, extra: String| {
        let _ = writeln!(
            s,
            "  {what:<34} {:>7} events in {:>8}  {:>9} events/s  {extra}",
            t.events,
            secs(t.elapsed),
            int(t.rate())
        );
    };
    let _ = writeln!(s, "leadledger bench ({} events)", f.events);
    line(&mut s, "1 raw producer", &f.produce, String::new());
    line(
        &mut s,
        "2 ingest Append",
        &f.ingest,
        format!(
            "{} of (1), target ≥ {}: {}",
            pct(f.ingest_ratio()),
            pct(INGEST_TARGET),
            verdict(f.ingest_ratio(), INGEST_TARGET)
        ),
    );
    line(&mut s, "3 raw consumer", &f.consume, String::new());
    line(
        &mut s,
        "4 projector",
        &f.projector,
        format!(
            "{} of (3), target ≥ {}: {}",
            pct(f.projector_ratio()),
            pct(PROJECTOR_TARGET),
            verdict(f.projector_ratio(), PROJECTOR_TARGET)
        ),
    );
    line(
        &mut s,
        "5 raw COPY",
        &f.copy,
        format!("projector is {} of it", pct(f.projector_copy_ratio())),
    );
    let fr = &f.freshness;
    let l = &f.log_latency;
    let _ = writeln!(
        s,
        "  6 at {} /s for {:.0} s: raw log ack → receipt p50 {} p99 {} max {}",
        int(fr.target_rate),
        fr.seconds,
        ms(l.p50),
        ms(l.p99),
        ms(l.max)
    );
    let _ = writeln!(
        s,
        "    freshness Append ack → GetLead: {}/{} read back, achieved {} /s, \
         p50 {} p99 {} max {} (Append p50 {})",
        fr.ok,
        fr.sent,
        int(fr.achieved_rate),
        ms(fr.fresh.p50),
        ms(fr.fresh.p99),
        ms(fr.fresh.max),
        ms(fr.append.p50)
    );
    s.replace("**", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let p = Percentiles::of((1..=100).map(Duration::from_millis).rev().collect());
        assert_eq!(p.p50, Duration::from_millis(50));
        assert_eq!(p.p99, Duration::from_millis(99));
        assert_eq!(p.max, Duration::from_millis(100));
        assert_eq!(Percentiles::of(Vec::new()).max, Duration::ZERO);
    }

    #[test]
    fn thousands_and_verdicts() {
        assert_eq!(int(1_234_567.4), "1,234,567");
        assert_eq!(int(999.0), "999");
        assert!(verdict(0.8, 0.7).starts_with("met"));
        assert!(verdict(0.35, 0.5).contains("missed** by 15 points"));
    }
}
