//! kill -9 of PostgreSQL during projection: a private cluster (its own `initdb`, data
//! directory on disk, `fsync = on`, a free port) serves the read models of the real binary
//! as `serve --role projector`, which applies the funnel workload streamed in through the
//! in-process ingest and the shared broker. The server is SIGKILLed four times at seeded
//! moments while the projector holds an open write transaction — twice the postmaster alone
//! (its backends and background processes then exit on their own), twice the whole server at
//! once — and restarted on the same data directory (crash recovery). The projector is never
//! restarted: it must ride out each outage by itself.
//!
//! The projection commits with `synchronous_commit = off`, so a crash may lose the last
//! transactions the server had acknowledged, each with its checkpoint; the projector still
//! holds their records past the restored checkpoint and must apply them again. The test
//! measures how many records' worth of acknowledged checkpoints each crash took back, and
//! ends with exact totals, checkpoints at the topic's end, no dead letters, no record-by-record
//! fallback, and every row identical to a clean run of the same log into a fresh database.
//!
//! Why a test of the `leadledger` package: see `kill.rs` (the binary's path). See
//! docs/RELIABILITY.md for the last measured results.

use std::time::{Duration, Instant};

use leadledger_e2e::process::{killable_projector_settings, test_dir, Leadledger, Postgres};
use leadledger_e2e::workload::{
    assert_exact, assert_same_as_clean_run, funnel_workload, ms, send_all, Expected, Rng,
};
use leadledger_e2e::{dump_read_models, scalar_retrying, unique, TestEnv};
use leadledger_store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_leadledger");
/// On disk (`target/tmp`), not /dev/shm: the cluster's data directory and the child logs.
const TMP: &str = env!("CARGO_TARGET_TMPDIR");
/// Bound of every wait for an outcome (generous: two cores shared with other tests).
const WAIT: Duration = Duration::from_secs(60);
/// The application name of the child projector's database connections.
const CHILD_APP: &str = "pg-kill-projector";
use leadledger_e2e::workload::{wait_applied_to_end, CHECKPOINT_SUM as CHECKPOINTS};

/// A fresh, migrated database `name` on the private cluster.
async fn database(pg: &Postgres, name: &str) -> anyhow::Result<(String, Store)> {
    let url = pg.url(name);
    Store::create_database(&url).await?;
    let store = Store::connect(&url, 4).await?;
    store.migrate().await?;
    Ok((url, store))
}

/// Polls until the child projector has a write transaction open (an xid assigned); returns
/// the checkpoint sum committed at that moment.
async fn open_write_transaction(store: &Store) -> anyhow::Result<i64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let (open, committed): (i64, i64) = sqlx::query_as(&format!(
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
                     AND backend_xid IS NOT NULL), ({CHECKPOINTS})"
        ))
        .bind(CHILD_APP)
        .fetch_one(&store.pool)
        .await?;
        if open > 0 {
            return Ok(committed);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the projector opened no write transaction within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// How a kill took the server down.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// SIGKILL to the postmaster only; its children notice and exit by themselves.
    Postmaster,
    /// SIGKILL to the postmaster's whole process group at once.
    WholeServer,
}

/// What one kill did.
#[derive(Debug)]
struct PgKill {
    mode: Mode,
    /// Events applied when the kill was decided.
    applied: i64,
    /// Checkpoint sum the test had seen committed just before the kill.
    committed_before: i64,
    /// Checkpoint sum right after crash recovery (before the projector's next commit, unless
    /// it won the race to the restarted server).
    recovered: i64,
    /// Processes of the server besides the postmaster at the kill (backends, background).
    children: usize,
    /// From the kill to the last server process gone.
    gone_ms: u128,
    /// From the restart to the server answering queries (crash recovery).
    recovery_ms: u128,
    /// From the kill to the projector's first commit after the restart.
    resumed_ms: u128,
}

impl PgKill {
    /// Records whose acknowledged (asynchronous) commit the crash took back.
    fn lost(&self) -> i64 {
        (self.committed_before - self.recovered).max(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_during_projection_again_and_again() -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = test_dir(TMP, "pg-kill")?;
    let mut pg = Postgres::start(&dir).await?;
    // Ingest on the shared broker; the harness's own projector (on the shared PostgreSQL)
    // is stopped at once: the child process is the projector under test.
    let mut env = TestEnv::start(3).await?;
    env.stop_projector().await?;
    let (db_url, store) = database(&pg, &format!("ll_pgkill_{}", unique())).await?;

    let settings = killable_projector_settings(&env, &db_url, CHILD_APP);
    let mut child = Leadledger::new(BIN, "projector", "projector", &settings, &dir)?;
    child.start().await?;

    let leads = 2000;
    let expected = Expected::of(leads);
    let load = tokio::spawn(send_all(env.addr, funnel_workload(leads), 250));

    // Four kills, the k-th once between (5 + 21k)% and (5 + 21(k+1))% of the events are
    // applied (seeded), after a seeded pause of 0–24 ms, at the next moment the projector
    // has a write transaction open.
    let mut rng = Rng(20_260_523);
    let mut kills = Vec::new();
    for k in 0..4 {
        let mode = if k % 2 == 0 {
            Mode::Postmaster
        } else {
            Mode::WholeServer
        };
        let lo = usize::try_from(expected.events)? * (5 + 21 * k) / 100;
        let hi = usize::try_from(expected.events)? * (5 + 21 * (k + 1)) / 100;
        let threshold = i64::try_from(rng.between(lo, hi))?;
        let pause = Duration::from_millis(u64::try_from(rng.below(25))?);
        let deadline = Instant::now() + WAIT;
        let applied = loop {
            let applied = scalar_retrying(&store, "SELECT count(*) FROM lead_events", WAIT).await?;
            if applied >= threshold {
                break applied;
            }
            child.proc.check_running()?;
            anyhow::ensure!(
                Instant::now() < deadline,
                "kill {k}: only {applied} of {threshold} events applied within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        tokio::time::sleep(pause).await;
        let committed_before = open_write_transaction(&store).await?;
        let killed_at = Instant::now();
        let children = match mode {
            Mode::Postmaster => pg.kill9_postmaster()?,
            Mode::WholeServer => pg.kill9_server()?,
        };
        pg.wait_gone(WAIT).await?;
        let gone_ms = ms(killed_at.elapsed());
        // The projector is down to retries now; it must still be running.
        child.proc.check_running()?;
        let recovery = pg.restart().await?;
        let recovered = scalar_retrying(&store, CHECKPOINTS, WAIT).await?;
        // Resumed: the projector (never restarted) commits a batch on the recovered server.
        let deadline = Instant::now() + WAIT;
        while scalar_retrying(&store, CHECKPOINTS, WAIT).await? <= recovered {
            child.proc.check_running()?;
            anyhow::ensure!(
                Instant::now() < deadline,
                "kill {k}: the projector committed nothing within {WAIT:?} of the restart; \
                 its log:\n{}",
                child.proc.log_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        kills.push(PgKill {
            mode,
            applied,
            committed_before,
            recovered,
            children,
            gone_ms,
            recovery_ms: ms(recovery),
            resumed_ms: ms(killed_at.elapsed()),
        });
    }
    load.await??;
    wait_applied_to_end(&store, &env.log.brokers, &env.log.topic, WAIT).await?;
    child.proc.check_running()?;
    let described: Vec<String> = kills
        .iter()
        .map(|k| {
            format!(
                "{:?} at {} applied ({} other server processes): gone after {} ms, answering \
                 {} ms after the restart; checkpoints {} seen committed, {} recovered \
                 ({} records taken back); next commit {} ms after the kill",
                k.mode,
                k.applied,
                k.children,
                k.gone_ms,
                k.recovery_ms,
                k.committed_before,
                k.recovered,
                k.lost(),
                k.resumed_ms
            )
        })
        .collect();
    eprintln!("postgres kills: {described:#?}");
    let lost: i64 = kills.iter().map(PgKill::lost).sum();
    // The point of the scenario: a crash took back checkpoints the server had acknowledged
    // (asynchronous commit), and the projector still applied those records again.
    assert!(
        lost > 0,
        "no kill took back an acknowledged commit; the scenario proved less than it should: \
         {described:#?}"
    );

    assert_exact(&store, expected).await?;
    // Every crash error was seen as transient: nothing dead-lettered, no batch fell back to
    // record-by-record application (which a misclassified error would trigger).
    let dead_letters: i64 = env.end_offsets(&env.log.dead_letter_topic())?.iter().sum();
    assert_eq!(dead_letters, 0, "records dead-lettered");
    let log = std::fs::read_to_string(dir.join("projector.log"))?;
    assert!(
        !log.contains("applying record by record") && !log.contains("projector failed"),
        "the projector treated a crash as a bad batch or failed; its log:\n{}",
        child.proc.log_tail(40)
    );
    let retries = log.matches("database unavailable; retrying").count();
    let rewinds = log
        .matches("the database lost committed batches; reading the partition again")
        .count();
    let killed_run = dump_read_models(&store).await?;
    let killed_in = started.elapsed();

    // The same log applied once by one projector that is never interrupted, into a fresh
    // database of the same cluster: every row (timeline, leads, stages, checkpoints) equal.
    let (_, clean) = database(&pg, &format!("ll_pgclean_{}", unique())).await?;
    // The contacts' data keys are made by ingest in the live database (docs/PRIVACY.md).
    leadledger_e2e::copy_contact_keys(&store, &clean).await?;
    assert_same_as_clean_run(&env.log, clean, &killed_run, expected.events, WAIT).await?;
    child.kill9()?;
    store.pool.close().await;
    eprintln!(
        "postgres kill -9: {} kills; {lost} records' acknowledged checkpoints taken back by the \
         crashes and applied again ({rewinds} partitions read again); {retries} retries logged \
         by the projector; {} events / {} \
         leads exact after {} ms; {} rows identical to a clean run; {} ms in all",
        kills.len(),
        expected.events,
        expected.leads,
        ms(killed_in),
        killed_run.len(),
        ms(started.elapsed())
    );
    env.cleanup().await?;
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir); // kept when the test fails: the logs
    Ok(())
}
