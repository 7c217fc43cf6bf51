//! kill -9 of real processes, against the real broker and the real PostgreSQL:
//!
//! - the projector process (`leadledger serve --role projector`) SIGKILLed mid-batch again
//!   and again while it applies, and restarted;
//! - the ingest process (`leadledger serve --role ingest`) SIGKILLed while a client streams,
//!   restarted on the same port, the client resending what it has no ack for;
//! - a private Tansu broker on SQLite storage on disk SIGKILLed during ingest and
//!   projection, and restarted on the same file.
//!
//! Each ends with exact read models (no loss, no double count). The workload, the kill
//! moments and the resends come from fixed seeds; waits poll with deadlines.
//!
//! Why this file is a test of the `leadledger` package and not of `leadledger-e2e`: Cargo
//! builds a binary for, and tells its path to (`CARGO_BIN_EXE_leadledger`), the integration
//! tests of the package that owns it, and only those (a dependency on another package's
//! binary is the unstable `-Z bindeps`). So every `cargo nextest run` that runs these tests
//! has just built the real binary from the same sources; no nested `cargo build` inside a
//! test, no stale `target/debug/leadledger`. The harness stays in `leadledger-e2e`
//! (`tests/src/process.rs`, `tests/src/workload.rs`), a dev-dependency here.
//!
//! See docs/RELIABILITY.md for what each scenario proves and the last measured results.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use leadledger_api::pb::{self, ingest_service_client::IngestServiceClient};
use leadledger_e2e::process::{
    child_log_settings, killable_projector_settings, test_dir, Leadledger, Tansu,
};
use leadledger_e2e::workload::{
    assert_exact, assert_same_as_clean_run, funnel_workload, log_event_ids, ms, send_all, Expected,
    Rng, TENANT,
};
use leadledger_e2e::{append, dump_read_models, TestEnv};
use leadledger_store::Store;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::ClientConfig;

const BIN: &str = env!("CARGO_BIN_EXE_leadledger");
/// On disk (`target/tmp`), not /dev/shm: child logs and the private broker's storage.
const TMP: &str = env!("CARGO_TARGET_TMPDIR");
/// Bound of every wait for an outcome (generous: two cores shared with other tests).
const WAIT: Duration = Duration::from_secs(60);

async fn scalar(store: &Store, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(&store.pool).await?)
}

// ---------------------------------------------------------------------------------------
// 1. The projector process, SIGKILLed mid-batch, again and again
// ---------------------------------------------------------------------------------------

/// The projector's consumer-group session timeout (`session.timeout.ms`, 10 s) plus a margin:
/// by then the broker has stopped counting a SIGKILLed projector as a member.
const SESSION_EXPIRED: Duration = Duration::from_secs(11);

/// The application name of the child projector's database connections.
const CHILD_APP: &str = "kill-projector";

/// What one kill hit.
#[derive(Debug)]
struct ProjectorKill {
    /// Events applied when the kill was decided.
    applied: i64,
    /// The kill was made while the test held the committed checkpoint rows locked and the
    /// child's transaction waited on that lock: read models written, checkpoint not yet.
    held: bool,
    /// The child had a write transaction open (an xid assigned) when it was killed, and
    /// nothing committed between that observation and the death of its connections: the
    /// batch was cut mid-transaction and rolled back.
    mid_batch: bool,
    /// From the kill to the restarted process's first commit.
    resumed_ms: u128,
}

/// Polls until the child projector has a write transaction open; returns the checkpoint
/// sum committed at that moment.
async fn open_write_transaction(store: &Store) -> anyhow::Result<i64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let (open, committed): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
                     AND backend_xid IS NOT NULL), \
                    (SELECT coalesce(sum(next_offset), 0)::int8 FROM projector_checkpoints \
                     WHERE projection = 'core')",
        )
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

/// Locks the committed `core` checkpoint rows (one per partition) in a transaction of the
/// test and waits until a write transaction of the child waits on that lock: it has written
/// its batch's read-model rows and blocks at the checkpoint upsert, so a kill now lands
/// mid-transaction whatever the scheduling of this 2-core machine (a kill "at the next
/// moment a transaction is open" can arrive after that transaction committed: a failed CI
/// run saw 2 of 4). Returns the lock (roll it back once the child is dead) and the
/// checkpoint sum committed then.
async fn hold_checkpoint_write(
    store: &Store,
    partitions: i64,
) -> anyhow::Result<(sqlx::Transaction<'static, sqlx::Postgres>, i64)> {
    let mut lock = store.pool.begin().await?;
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT next_offset FROM projector_checkpoints WHERE projection = 'core' \
         ORDER BY partition FOR UPDATE",
    )
    .fetch_all(&mut *lock)
    .await?;
    anyhow::ensure!(
        i64::try_from(rows.len())? == partitions,
        "{} checkpoint rows locked, {partitions} partitions: a batch of an unlocked partition \
         could commit",
        rows.len()
    );
    let committed: i64 = rows.iter().map(|(o,)| o).sum();
    let deadline = Instant::now() + WAIT;
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
             AND backend_xid IS NOT NULL AND wait_event_type = 'Lock'",
        )
        .bind(CHILD_APP)
        .fetch_one(&store.pool)
        .await?;
        if waiting > 0 {
            return Ok((lock, committed));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no transaction of the projector waited on the checkpoint lock within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Waits until no connection of the killed child is left in PostgreSQL (its open
/// transaction, if any, rolled back); returns the checkpoint sum then.
async fn child_connections_gone(store: &Store) -> anyhow::Result<i64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let (left, committed): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name = $1), \
                    (SELECT coalesce(sum(next_offset), 0)::int8 FROM projector_checkpoints \
                     WHERE projection = 'core')",
        )
        .bind(CHILD_APP)
        .fetch_one(&store.pool)
        .await?;
        if left == 0 {
            return Ok(committed);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{left} connections of the killed projector still open after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projector_process_killed_mid_batch_again_and_again() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut env = TestEnv::start(3).await?;
    // The child process is the projector; the in-process one has applied nothing yet.
    env.stop_projector().await?;
    let dir = test_dir(TMP, "kill-projector")?;
    let settings = killable_projector_settings(&env, &env.db_url, CHILD_APP);
    let mut child = Leadledger::new(BIN, "projector", "projector", &settings, &dir)?;
    child.start().await?;

    let leads = 2000;
    let expected = Expected::of(leads);
    let load = tokio::spawn(send_all(env.addr, funnel_workload(leads), 250));

    // Four kills, the k-th once between (5 + 21k)% and (5 + 21(k+1))% of the events are
    // applied (seeded), after a seeded pause of 0–24 ms: the odd ones while the child's
    // transaction waits at its checkpoint write on a lock of the test, the even ones at the
    // next moment the child has a write transaction open. (Each restart costs ~12 s: see
    // `resumed_ms`.)
    let mut rng = Rng(20_260_511);
    let kills_planned = 4;
    let mut kills = Vec::new();
    for k in 0..kills_planned {
        let lo = usize::try_from(expected.events)? * (5 + 21 * k) / 100;
        let hi = usize::try_from(expected.events)? * (5 + 21 * (k + 1)) / 100;
        let threshold = i64::try_from(rng.between(lo, hi))?;
        let pause = Duration::from_millis(u64::try_from(rng.below(25))?);
        let deadline = Instant::now() + WAIT;
        let applied = loop {
            let applied = scalar(&env.store, "SELECT count(*) FROM lead_events").await?;
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
        // Odd kills: held at the checkpoint write (certainly mid-transaction); even kills: at
        // whatever statement the open transaction has reached (mid-transaction or, when it
        // commits before the signal lands, right after a commit).
        let held = k % 2 == 1;
        let (lock, committed_before) = if held {
            let (lock, committed) = hold_checkpoint_write(&env.store, 3).await?;
            (Some(lock), committed)
        } else {
            (None, open_write_transaction(&env.store).await?)
        };
        child.kill9()?;
        let killed_at = Instant::now();
        if let Some(lock) = lock {
            // The blocked backend notices its client is gone only once its statement ends.
            lock.rollback().await?;
        }
        let committed_after = child_connections_gone(&env.store).await?;
        // Restarted once the dead member's session (10 s) has run out: Tansu 0.6.0 can hand
        // a member that joins before then an empty assignment that it never revisits (see
        // docs/RELIABILITY.md); no partition is applied again until the next restart.
        tokio::time::sleep(SESSION_EXPIRED.saturating_sub(killed_at.elapsed())).await;
        child.start().await?;
        // Resumed: the restarted process commits a batch.
        let deadline = Instant::now() + WAIT;
        while scalar(
            &env.store,
            "SELECT coalesce(sum(next_offset), 0)::int8 FROM projector_checkpoints WHERE projection = 'core'",
        )
        .await?
            == committed_after
        {
            child.proc.check_running()?;
            anyhow::ensure!(
                Instant::now() < deadline,
                "kill {k}: the restarted projector committed nothing within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        kills.push(ProjectorKill {
            applied,
            held,
            mid_batch: committed_after == committed_before,
            resumed_ms: ms(killed_at.elapsed()),
        });
    }
    load.await??;
    env.wait_caught_up(WAIT).await?;
    child.proc.check_running()?;
    let mid_batch = kills.iter().filter(|k| k.mid_batch).count();
    let described: Vec<String> = kills
        .iter()
        .map(|k| {
            format!(
                "at {} applied{}: {}, next commit {} ms after the kill",
                k.applied,
                if k.held {
                    ", held at the checkpoint"
                } else {
                    ""
                },
                if k.mid_batch {
                    "mid-transaction"
                } else {
                    "at a commit"
                },
                k.resumed_ms
            )
        })
        .collect();
    eprintln!("projector kills: {described:#?}");
    assert!(
        kills.iter().filter(|k| k.held).all(|k| k.mid_batch),
        "a kill held at the checkpoint write did not roll its batch back: {kills:?}"
    );
    assert!(
        mid_batch >= kills_planned / 2,
        "only {mid_batch} of {kills_planned} kills cut a batch mid-transaction: {kills:?}"
    );
    assert_exact(&env.store, expected).await?;
    let killed_run = dump_read_models(&env.store).await?;
    let killed_in = started.elapsed();

    // The same log applied once by one projector that is never killed, into a fresh
    // database: every row (timeline, leads, stages, checkpoints) must be identical.
    let (_, clean) = env.extra_database("clean").await?;
    // The contacts' data keys are made by ingest in the live database (docs/PRIVACY.md).
    leadledger_e2e::copy_contact_keys(&env.store, &clean).await?;
    assert_same_as_clean_run(&env.log, clean, &killed_run, expected.events, WAIT).await?;
    child.kill9()?;
    eprintln!(
        "projector kill -9: {} kills, {mid_batch} mid-transaction; {} events / {} leads exact \
         after {} ms; {} rows identical to a clean run; {} ms in all",
        kills.len(),
        expected.events,
        expected.leads,
        ms(killed_in),
        killed_run.len(),
        ms(started.elapsed())
    );
    env.cleanup().await?;
    let _ = std::fs::remove_dir_all(&dir); // kept when the test fails: the child's log
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 2. The ingest process, SIGKILLed while a client streams
// ---------------------------------------------------------------------------------------

/// One acknowledgement the client received.
#[derive(Debug, Clone)]
struct Ack {
    event_id: String,
    partition: i32,
    offset: i64,
}

/// Asserts that every ack names a record of `log` holding that event, and that the log holds
/// exactly the `distinct` events acked (each at least once). Returns the number of records
/// and how many of them no ack names (written, but the ack never reached the client).
fn check_acks(log: &BTreeMap<(i32, i64), String>, acks: &[Ack], distinct: usize) -> (usize, usize) {
    let missing: Vec<&Ack> = acks
        .iter()
        .filter(|a| log.get(&(a.partition, a.offset)) != Some(&a.event_id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acked events are not in the log where their ack says: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let acked_ids: BTreeSet<&String> = acks.iter().map(|a| &a.event_id).collect();
    let log_ids: BTreeSet<&String> = log.values().collect();
    assert_eq!(acked_ids.len(), distinct, "distinct events acked");
    assert_eq!(log_ids, acked_ids, "distinct events in the log");
    let acked_at: BTreeSet<(i32, i64)> = acks.iter().map(|a| (a.partition, a.offset)).collect();
    let unacked = log.keys().filter(|k| !acked_at.contains(k)).count();
    (log.len(), unacked)
}

/// What the streaming client did.
#[derive(Debug, Default)]
struct StreamReport {
    /// Every ack received, resends included.
    acks: Vec<Ack>,
    /// Streams opened.
    streams: usize,
    /// Events sent again although acked (the client lost track of its last acks).
    resent_acked: usize,
    /// Per-event errors answered on the stream (UNAVAILABLE while the log is unreachable).
    event_errors: usize,
    /// How each broken stream ended.
    breaks: Vec<String>,
}

/// A CRM adapter: streams `events` over `StreamEvents`; when the stream or the connection
/// breaks it reconnects (same address) and sends again every event it has no ack for, plus
/// the last 32 it had acks for and a seeded 2% of older acked ones. Acked events are counted
/// in `progress` (first acks only).
async fn stream_with_retries(
    addr: SocketAddr,
    events: Vec<pb::Event>,
    progress: Arc<AtomicUsize>,
    seed: u64,
) -> anyhow::Result<StreamReport> {
    let mut rng = Rng(seed);
    let mut report = StreamReport::default();
    let mut acked = vec![false; events.len()];
    let mut pending: Vec<usize> = (0..events.len()).collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !pending.is_empty() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} events still unacked after 90 s: {report:?}",
            pending.len()
        );
        let mut client = match IngestServiceClient::connect(format!("http://{addr}")).await {
            Ok(c) => c,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        report.streams += 1;
        let (tx, rx) = tokio::sync::mpsc::channel::<pb::StreamEventsRequest>(64);
        let to_send: Vec<pb::Event> = pending.iter().map(|i| events[*i].clone()).collect();
        let sender = tokio::spawn(async move {
            for e in to_send {
                let m = pb::StreamEventsRequest {
                    tenant_id: TENANT.into(),
                    event: Some(e),
                };
                if tx.send(m).await.is_err() {
                    break;
                }
            }
        });
        let mut acked_now = Vec::new();
        let outcome = match client
            .stream_events(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
        {
            Err(status) => Err(status),
            Ok(resp) => {
                let mut inbound = resp.into_inner();
                loop {
                    match inbound.message().await {
                        Ok(Some(m)) => {
                            let i = pending[usize::try_from(m.sequence)?];
                            match m.result {
                                Some(pb::stream_events_response::Result::Ack(a)) => {
                                    let pos = a.position.unwrap_or_default();
                                    report.acks.push(Ack {
                                        event_id: a.event_id,
                                        partition: pos.partition,
                                        offset: pos.offset,
                                    });
                                    acked_now.push(i);
                                    if !acked[i] {
                                        acked[i] = true;
                                        progress.fetch_add(1, Ordering::SeqCst);
                                    }
                                }
                                Some(pb::stream_events_response::Result::Error(e)) => {
                                    anyhow::ensure!(
                                        e.code == tonic::Code::Unavailable as i32,
                                        "event {i} refused: {e:?}"
                                    );
                                    report.event_errors += 1;
                                }
                                None => anyhow::bail!("an empty stream response"),
                            }
                        }
                        Ok(None) => break Ok(()),
                        Err(status) => break Err(status),
                    }
                }
            }
        };
        sender.abort();
        let unacked: Vec<usize> = (0..events.len()).filter(|i| !acked[*i]).collect();
        if let Err(status) = outcome {
            report
                .breaks
                .push(format!("{:?}: {}", status.code(), status.message()));
            // The adapter saves its ack cursor every 32 events: the last ones are sent again.
            let mut again: BTreeSet<usize> = acked_now.iter().rev().take(32).copied().collect();
            for (i, done) in acked.iter().enumerate() {
                if *done && rng.below(50) == 0 {
                    again.insert(i);
                }
            }
            report.resent_acked += again.len();
            again.extend(unacked);
            pending = again.into_iter().collect();
        } else {
            // A clean end: only events answered with an error are left (sent again).
            pending = unacked;
        }
    }
    Ok(report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_process_killed_while_a_client_streams() -> anyhow::Result<()> {
    let started = Instant::now();
    // The in-process projector of the TestEnv applies the topic; the child only ingests.
    let mut env = TestEnv::start(3).await?;
    let dir = test_dir(TMP, "kill-ingest")?;
    let mut child = Leadledger::new(BIN, "ingest", "ingest", &child_log_settings(&env), &dir)?;
    child.start().await?;

    let leads = 3000;
    let expected = Expected::of(leads);
    let events = funnel_workload(leads);
    let total = events.len();
    let progress = Arc::new(AtomicUsize::new(0));
    let client = tokio::spawn(stream_with_retries(
        child.addr,
        events,
        progress.clone(),
        20_260_512,
    ));

    // Two kills, at a seeded number of acked events in 15–35% and in 50–75%; restarted on
    // the same port after a seeded 100–600 ms.
    let mut rng = Rng(20_260_513);
    let mut kills = Vec::new();
    for (lo, hi) in [(15, 35), (50, 75)] {
        let threshold = rng.between(total * lo / 100, total * hi / 100);
        let down_for = Duration::from_millis(u64::try_from(rng.between(100, 600))?);
        let deadline = Instant::now() + WAIT;
        while progress.load(Ordering::SeqCst) < threshold {
            child.proc.check_running()?;
            anyhow::ensure!(!client.is_finished(), "the client finished before the kill");
            anyhow::ensure!(
                Instant::now() < deadline,
                "only {} of {threshold} events acked within {WAIT:?}",
                progress.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        child.kill9()?;
        let acked_at_kill = progress.load(Ordering::SeqCst);
        tokio::time::sleep(down_for).await;
        child.start().await?;
        kills.push((acked_at_kill, ms(down_for)));
    }
    let report = client.await??;
    let streamed_in = started.elapsed();
    eprintln!(
        "ingest kills (acked at kill, ms down): {kills:?}; client: {} streams, {} acks, \
         {} acked ones sent again, {} per-event errors, breaks {:?}",
        report.streams,
        report.acks.len(),
        report.resent_acked,
        report.event_errors,
        report.breaks
    );
    assert!(
        kills.iter().all(|(acked, _)| *acked < total),
        "every kill must land mid-stream: {kills:?}"
    );
    assert!(report.breaks.len() >= kills.len(), "{report:?}");

    // Every ack names a record of the log that holds that event.
    let log = log_event_ids(&env.log.brokers, &env.log.topic, WAIT).await?;
    let (records, unacked_records) = check_acks(&log, &report.acks, total);

    // The read models count each event once, however often it is in the log.
    env.wait_caught_up(WAIT).await?;
    assert_exact(&env.store, expected).await?;
    let totals = env.stop_projector().await?;
    assert_eq!(totals.applied, u64::try_from(total)?, "{totals:?}");
    assert_eq!(
        totals.applied + totals.duplicates,
        u64::try_from(records)?,
        "{totals:?}"
    );
    child.kill9()?;
    eprintln!(
        "ingest kill -9: {total} distinct events, {records} records in the log ({} duplicates, \
         {unacked_records} written without the ack reaching the client), every one of {} acks \
         found at its position; streamed in {} ms; read models exact; {} ms in all",
        records - total,
        report.acks.len(),
        ms(streamed_in),
        ms(started.elapsed())
    );
    env.cleanup().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 3. The broker, SIGKILLed and restarted on durable storage
// ---------------------------------------------------------------------------------------

/// What the appending client did.
#[derive(Debug, Default)]
struct AppendReport {
    acks: Vec<Ack>,
    /// Append calls that failed or that the client gave up on, retried.
    failures: Vec<String>,
    /// Longest single successful call.
    slowest_ms: u128,
}

/// What the appending client has had acknowledged so far, shared with the test, and how far
/// the test lets it go.
#[derive(Debug)]
struct Progress {
    /// Events acked.
    acked: AtomicUsize,
    /// The client starts no batch that would take it past this many events. The test keeps
    /// it a few batches ahead of the acks while it waits for a kill moment, so a kill always
    /// lands while the client still has events to append, however long a recovery takes.
    limit: AtomicUsize,
    /// When each successful call returned, in order.
    acked_at: std::sync::Mutex<Vec<Instant>>,
}

impl Progress {
    fn new(limit: usize) -> Self {
        Self {
            acked: AtomicUsize::new(0),
            limit: AtomicUsize::new(limit),
            acked_at: std::sync::Mutex::default(),
        }
    }

    fn acked(&self) -> usize {
        self.acked.load(Ordering::SeqCst)
    }

    fn limit(&self) -> usize {
        self.limit.load(Ordering::SeqCst)
    }

    fn set_limit(&self, events: usize) {
        self.limit.store(events, Ordering::SeqCst);
    }

    fn record(&self, events: usize) {
        self.acked_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Instant::now());
        self.acked.fetch_add(events, Ordering::SeqCst);
    }

    /// The first ack received at or after `t`.
    fn first_ack_since(&self, t: Instant) -> Option<Instant> {
        let at = self.acked_at.lock().unwrap_or_else(|p| p.into_inner());
        at.iter().copied().find(|a| *a >= t)
    }
}

/// Pause between two batches of the appending client. Unpaced, the client appended the rest
/// of the workload within a second of a broker restart, sometimes before the test had
/// looked (the test then waited for an ack that could no longer come), and left no workload
/// for the second kill. At ~2 000 events/s the stream lasts several seconds, the kills land
/// mid-stream and the recovery is measured under load.
const CLIENT_PACE: Duration = Duration::from_millis(25);

/// How long the appending client waits for one `Append` before it gives up and sends the
/// same batch again (the abandoned call may still be written: duplicates).
const CLIENT_DEADLINE: Duration = Duration::from_secs(1);

/// Appends `events` in batches of `batch`; a batch that fails or takes longer than
/// [`CLIENT_DEADLINE`] is sent again (same events, so same ids) until it is acked (at most
/// 100 s); batches are [`CLIENT_PACE`] apart, and none starts past `progress`'s limit. Acks
/// are recorded in `progress`.
async fn append_with_retries(
    addr: SocketAddr,
    events: Vec<pb::Event>,
    batch: usize,
    progress: Arc<Progress>,
) -> anyhow::Result<AppendReport> {
    let mut report = AppendReport::default();
    let mut client = IngestServiceClient::connect(format!("http://{addr}")).await?;
    let mut sent = 0;
    for chunk in events.chunks(batch) {
        while sent + chunk.len() > progress.limit() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        sent += chunk.len();
        tokio::time::sleep(CLIENT_PACE).await;
        let deadline = Instant::now() + Duration::from_secs(100);
        loop {
            let t = Instant::now();
            let call = append(&mut client, TENANT, chunk.to_vec());
            let Ok(result) = tokio::time::timeout(CLIENT_DEADLINE, call).await else {
                report
                    .failures
                    .push(format!("gave up after {} ms", ms(t.elapsed())));
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "still failing after 100 s: {report:?}"
                );
                continue;
            };
            match result {
                Ok(resp) => {
                    report.slowest_ms = report.slowest_ms.max(ms(t.elapsed()));
                    for a in resp.acks {
                        let pos = a.position.unwrap_or_default();
                        report.acks.push(Ack {
                            event_id: a.event_id,
                            partition: pos.partition,
                            offset: pos.offset,
                        });
                    }
                    progress.record(chunk.len());
                    break;
                }
                Err(status) => {
                    anyhow::ensure!(
                        status.code() == tonic::Code::Unavailable,
                        "append refused: {status:?}"
                    );
                    report.failures.push(format!(
                        "after {} ms: {}",
                        ms(t.elapsed()),
                        status.message()
                    ));
                    anyhow::ensure!(
                        Instant::now() < deadline,
                        "still failing after 100 s: {report:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    Ok(report)
}

/// Records in the events log that the projection has not applied yet: the end offsets
/// minus the checkpoints.
async fn unapplied(env: &TestEnv, watermarks: &BaseConsumer) -> anyhow::Result<i64> {
    let ends: i64 = tokio::task::block_in_place(|| {
        (0..env.log.partitions)
            .map(|p| {
                watermarks
                    .fetch_watermarks(&env.log.topic, p, Duration::from_secs(10))
                    .map(|(_, high)| high)
            })
            .sum::<Result<i64, _>>()
    })?;
    let applied = scalar(
        &env.store,
        "SELECT coalesce(sum(next_offset), 0)::int8 FROM projector_checkpoints WHERE projection = 'core'",
    )
    .await?;
    Ok(ends - applied)
}

/// How many batches the broker test lets its client run ahead of the acks while it waits for
/// a kill moment.
const HELD_AHEAD: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_killed_and_restarted_on_durable_storage() -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = test_dir(TMP, "kill-broker")?;
    let mut broker = Tansu::start(&dir).await?;
    let mut env = TestEnv::start_on(&broker.brokers(), 3, false).await?;
    env.stop_projector().await?;
    env.projector_batch_max = 100;
    // Restarted, it joins a group of its own (`TestEnv::start_projector`): in the group of the
    // projector just stopped it was once given partitions 0 and 1 only and never applied
    // partition 2 (CI, 2026-11-23: "did not reach [419, 551, 380] … {0: 535, 1: 644}").
    env.start_projector();

    let leads = 1500;
    let expected = Expected::of(leads);
    let events = funnel_workload(leads);
    let total = events.len();
    let batch = 50;
    let progress = Arc::new(Progress::new(HELD_AHEAD * batch));
    let client = tokio::spawn(append_with_retries(
        env.addr,
        events,
        batch,
        progress.clone(),
    ));

    // Two kills while the client appends and the projector applies: at a seeded number of
    // acked events in 15–30% and in 50–65%, at the next moment the log holds records the
    // projector has not applied yet; restarted after a seeded 1 000–2 500 ms (longer than
    // the client's deadline). While the test waits for a kill moment it lets the client run
    // [`HELD_AHEAD`] batches ahead of its acks and no further: so the client is still
    // appending at the kill and after the restart (an ack after it must come), and a slow
    // recovery (6.5 s measured on a loaded machine, longer than the rest of the workload at
    // full pace) cannot let the client finish before the second kill.
    let watermarks: BaseConsumer = {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", broker.brokers()).set(
            "group.id",
            format!("watermarks-{}", leadledger_e2e::unique()),
        );
        leadledger_log::config::apply_reconnect(&mut c);
        c.create()?
    };
    let mut rng = Rng(20_260_514);
    let mut kills = Vec::new();
    for (lo, hi) in [(15, 30), (50, 65)] {
        let threshold = rng.between(total * lo / 100, total * hi / 100);
        let down_for = Duration::from_millis(u64::try_from(rng.between(1000, 2500))?);
        let deadline = Instant::now() + WAIT;
        let (acked_at_kill, backlog_at_kill) = loop {
            let acked = progress.acked();
            progress.set_limit((acked + HELD_AHEAD * batch).min(total));
            if acked >= threshold {
                let backlog = unapplied(&env, &watermarks).await?;
                if backlog > 0 {
                    break (acked, backlog);
                }
            }
            broker.proc.check_running()?;
            anyhow::ensure!(!client.is_finished(), "the client finished before the kill");
            anyhow::ensure!(
                Instant::now() < deadline,
                "{acked} of {threshold} events acked within {WAIT:?}, projection never behind"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        anyhow::ensure!(
            progress.acked() + batch <= progress.limit() && progress.acked() < total,
            "the client has nothing left to append at the kill ({} of {total} acked, limit {})",
            progress.acked(),
            progress.limit()
        );
        broker.kill9()?;
        tokio::time::sleep(down_for).await;
        let restart = Instant::now();
        broker.restart().await?;
        let listening = restart.elapsed();
        // The ingest path is back when the client gets its next ack: the first one received
        // after the restart began (it may come before this task looks again).
        let deadline = Instant::now() + WAIT;
        let next_ack = loop {
            if let Some(at) = progress.first_ack_since(restart) {
                break at - restart;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "no ack within {WAIT:?} of the broker restart ({} of {total} acked)",
                progress.acked()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        // The projection is back when it has applied the whole log as of the restart.
        let ends = env.end_offsets(&env.log.topic)?;
        let deadline = Instant::now() + WAIT;
        loop {
            let cps = leadledger_store::checkpoints::load(
                &env.store.pool,
                leadledger_store::checkpoints::CORE,
                &env.log.topic,
            )
            .await?;
            let behind = ends
                .iter()
                .zip(0..)
                .any(|(end, p)| cps.get(&p).copied().unwrap_or(0) < *end);
            if !behind {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the projection did not reach {ends:?} within {WAIT:?} of the restart: {cps:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        kills.push(format!(
            "at {acked_at_kill} acked, {backlog_at_kill} records not yet applied: down {} ms; \
             after the restart: listening {} ms, next ack {} ms, log as of then applied {} ms",
            ms(down_for),
            ms(listening),
            ms(next_ack),
            ms(restart.elapsed())
        ));
    }
    progress.set_limit(total);
    let report = client.await??;
    let appended_in = started.elapsed();
    eprintln!(
        "broker kills: {kills:#?}; client: {} \
         acks, slowest call {} ms, {} calls retried {:?}",
        report.acks.len(),
        report.slowest_ms,
        report.failures.len(),
        report.failures
    );

    // No acked event is lost: each is in the log at the position of its ack.
    let log = log_event_ids(&env.log.brokers, &env.log.topic, WAIT).await?;
    let (records, unacked_records) = check_acks(&log, &report.acks, total);

    env.wait_caught_up(WAIT).await?;
    let caught_up = started.elapsed() - appended_in;
    assert_exact(&env.store, expected).await?;
    let totals = env.stop_projector().await?;
    assert_eq!(totals.applied, u64::try_from(total)?, "{totals:?}");
    assert_eq!(
        totals.applied + totals.duplicates,
        u64::try_from(records)?,
        "{totals:?}"
    );
    let per_partition: BTreeMap<i32, usize> = log.keys().fold(BTreeMap::new(), |mut m, (p, _)| {
        *m.entry(*p).or_default() += 1;
        m
    });
    eprintln!(
        "broker kill -9: {total} distinct events, {records} records ({per_partition:?}; \
         {unacked_records} written without the ack reaching the client), all {} acks at their \
         positions after 2 restarts; appended in {} ms, projection caught up {} ms after the \
         last ack; read models exact; totals {totals:?}; {} ms in all",
        report.acks.len(),
        ms(appended_in),
        ms(caught_up),
        ms(started.elapsed())
    );
    env.cleanup().await?;
    broker.kill9()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
