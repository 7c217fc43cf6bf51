//! Fault scenarios against the real broker and the real PostgreSQL, each with a known
//! workload and exact expected totals afterwards (no loss, no double count):
//!
//! - database connections killed (`pg_terminate_backend`) while the projector applies;
//! - a duplicate storm: every event sent 2–5 times, shuffled, from several clients at once,
//!   compared row for row with a single clean send;
//! - poison records and an event of a future schema version produced straight to the topic;
//! - a second projector joining the consumer group under load and leaving again.
//!
//! Every random choice comes from a fixed seed; waits poll with deadlines. See
//! docs/RELIABILITY.md for what each scenario proves and the last measured results.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::{self, event::Payload, ingest_service_client::IngestServiceClient};
use leadledger_e2e::events::{accepted, at, captured, event, mql, signed};
use leadledger_e2e::groups::SecondProjector;
use leadledger_e2e::workload::{
    assert_exact, funnel_workload, ms, send_all, Expected, Rng, TENANT as T,
};
use leadledger_e2e::{
    append, assert_stored_events_decode, dump_read_models, produce_raw, record_checkpoint_writers,
    scalar_retrying, TestEnv,
};
use leadledger_store::StoreError;
use prost::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;
use sqlx::Connection;

const WAIT: Duration = Duration::from_secs(45);

// ---------------------------------------------------------------------------------------
// a. PostgreSQL connections killed while the projector applies
// ---------------------------------------------------------------------------------------

fn db_name(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

async fn admin_connection() -> anyhow::Result<sqlx::PgConnection> {
    Ok(sqlx::PgConnection::connect(&format!("{}/postgres", leadledger_e2e::pg_server())).await?)
}

/// Terminates every backend connected to `db`; returns the states they were in.
async fn terminate_all(admin: &mut sqlx::PgConnection, db: &str) -> anyhow::Result<Vec<String>> {
    let rows: Vec<(Option<String>, bool)> = sqlx::query_as(
        "SELECT state, pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(db)
    .fetch_all(&mut *admin)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, killed)| *killed)
        .map(|(s, _)| s.unwrap_or_default())
        .collect())
}

/// The errors a terminated connection produces are the ones the projector retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_connection_is_a_transient_store_error() -> anyhow::Result<()> {
    let (url, store) = leadledger_e2e::fresh_database("kill").await?;
    let db = db_name(&url);
    let mut admin = admin_connection().await?;
    let mut seen = Vec::new();

    // In a transaction, between statements (the projector between insert and re-fold).
    let mut tx = store.pool.begin().await?;
    sqlx::query("SELECT count(*) FROM lead_events")
        .execute(&mut *tx)
        .await?;
    terminate_all(&mut admin, &db).await?;
    let e = sqlx::query("SELECT count(*) FROM leads")
        .execute(&mut *tx)
        .await
        .expect_err("the connection was terminated");
    seen.push(("next statement in a transaction", StoreError::from(e)));
    drop(tx);

    // At COMMIT.
    let mut tx = store.pool.begin().await?;
    sqlx::query("INSERT INTO projector_checkpoints VALUES ('core', 't', 0, 1)")
        .execute(&mut *tx)
        .await?;
    terminate_all(&mut admin, &db).await?;
    let e = tx
        .commit()
        .await
        .expect_err("the connection was terminated");
    seen.push(("commit", StoreError::from(e)));

    // While a statement runs.
    let pool = store.pool.clone();
    let running = tokio::spawn(async move {
        sqlx::query("SELECT pg_sleep(10)")
            .execute(&pool)
            .await
            .map(|_| ())
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let active: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep%' AND state = 'active'",
        )
        .bind(&db)
        .fetch_one(&mut admin)
        .await?;
        if active > 0 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "pg_sleep never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    terminate_all(&mut admin, &db).await?;
    let e = running.await?.expect_err("the connection was terminated");
    seen.push(("running statement", StoreError::from(e)));

    let mut report = Vec::new();
    for (when, e) in &seen {
        report.push(format!("{when}: transient={} ({e})", e.is_transient()));
    }
    eprintln!("{}", report.join("\n"));
    for (when, e) in &seen {
        assert!(e.is_transient(), "{when}: {e} is not classified transient");
    }
    // The pool recovers on its own: the next acquire replaces the dead connections.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&store.pool)
        .await?;
    assert_eq!(n, 0);
    store.pool.close().await;
    admin.close().await?;
    leadledger_store::Store::drop_database(&url).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projector_survives_killed_database_connections_with_exact_counts() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut env = TestEnv::start(3).await?;
    // Small batches: many transactions for the kills to land in.
    env.kill_projector().await;
    env.projector_batch_max = 50;
    env.start_projector();
    let leads = 1500;
    let expected = Expected::of(leads);
    let load = tokio::spawn(send_all(env.addr, funnel_workload(leads), 250));

    let db = db_name(&env.db_url);
    let mut admin = admin_connection().await?;
    let applied = |env: &TestEnv| {
        let store = env.store.clone();
        async move {
            scalar_retrying(
                &store,
                "SELECT count(*) FROM lead_events",
                Duration::from_secs(10),
            )
            .await
        }
    };
    // Start killing once the projector is applying.
    let deadline = Instant::now() + WAIT;
    while applied(&env).await? == 0 {
        anyhow::ensure!(Instant::now() < deadline, "the projector never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut kills = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    for _ in 0..5 {
        tick.tick().await;
        let before = applied(&env).await?;
        let states = terminate_all(&mut admin, &db).await?;
        kills.push((before, states));
    }
    load.await??;
    let mid_stream = kills
        .iter()
        .filter(|(before, _)| *before < expected.events)
        .count();
    let killed: usize = kills.iter().map(|(_, s)| s.len()).sum();
    let busy: usize = kills
        .iter()
        .flat_map(|(_, s)| s)
        .filter(|s| s.as_str() != "idle")
        .count();
    eprintln!(
        "kills (applied before, backend states): {kills:?}; {killed} backends terminated, \
         {busy} of them active or in a transaction"
    );
    assert!(
        mid_stream >= 3,
        "only {mid_stream} of 5 kills landed before everything was applied"
    );
    assert!(killed >= 5, "the kills terminated only {killed} backends");

    env.wait_caught_up(WAIT).await?;
    assert_exact(&env.store, expected).await?;
    let totals = env.stop_projector().await?;
    assert_eq!(totals.dead_letters, 0, "{totals:?}");
    assert_eq!(
        i64::try_from(totals.applied)?,
        expected.events,
        "{totals:?}"
    );
    assert_eq!(
        env.end_offsets(&env.log.dead_letter_topic())?
            .iter()
            .sum::<i64>(),
        0
    );
    eprintln!(
        "pg kills: {} events, {} leads exact after {} ms; totals {totals:?}",
        expected.events,
        expected.leads,
        ms(started.elapsed())
    );
    admin.close().await?;
    env.cleanup().await
}

// ---------------------------------------------------------------------------------------
// b. Duplicate storm
// ---------------------------------------------------------------------------------------

fn crm(lead: &str, src: &str, when: chrono::DateTime<chrono::Utc>, p: Payload) -> pb::Event {
    event(lead, "salesforce", src, when, p)
}

/// A workload with every kind of fact, regressions, exits and re-entries, and events whose
/// idempotency key is the client's own UUID (no source event id).
fn rich_workload(leads: usize) -> Vec<pb::Event> {
    let mut out = Vec::new();
    for i in 0..leads {
        let l = format!("R-{i:04}");
        let d = u32::try_from(i % 28).unwrap() + 1;
        let channel = ["website", "sem", "webinar", "referral"][i % 4];
        out.push(captured(&l, &format!("c{i}"), at(4, d, 9), channel));
        // A web touch identified by the client's UUID only.
        let mut touch = event(
            &l,
            "web",
            "",
            at(4, d, 12),
            Payload::TouchRecorded(pb::TouchRecorded {
                channel: channel.into(),
                touch_type: pb::TouchType::Visit as i32,
                content_id: format!("page-{}", i % 9),
                ..Default::default()
            }),
        );
        touch.event_id =
            uuid::Uuid::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 + i as u128)
                .to_string();
        out.push(touch);
        if i % 5 == 4 {
            continue; // never qualified
        }
        out.push(mql(&l, &format!("m{i}"), at(5, d, 9)));
        out.push(crm(
            &l,
            &format!("h{i}"),
            at(5, d, 10),
            Payload::HandedOff(pb::HandedOff {
                team: "east".into(),
                queue: format!("q{}", i % 3),
                ..Default::default()
            }),
        ));
        match i % 5 {
            0 => {
                // Rejected, nurtured, qualified again.
                out.push(crm(
                    &l,
                    &format!("r{i}"),
                    at(5, d, 11),
                    Payload::SalesRejected(pb::SalesRejected {
                        reason: pb::RejectReason::TooEarly as i32,
                        text: "next quarter".into(),
                        rep_id: "rep-03".into(),
                    }),
                ));
                out.push(mql(&l, &format!("m2-{i}"), at(6, d, 9)));
            }
            1 | 2 => {
                out.push(accepted(&l, &format!("a{i}"), at(5, d, 12), "rep-07"));
                out.push(crm(
                    &l,
                    &format!("f{i}"),
                    at(5, d, 13),
                    Payload::FollowUpLogged(pb::FollowUpLogged {
                        activity_type: pb::ActivityType::Meeting as i32,
                        rep_id: "rep-07".into(),
                        note: format!("met the team of {l}"),
                    }),
                ));
                out.push(crm(
                    &l,
                    &format!("fb{i}"),
                    at(5, d, 14),
                    Payload::FeedbackRecorded(pb::FeedbackRecorded {
                        stage: pb::Stage::Sql as i32,
                        rep_id: "rep-07".into(),
                        business_situation: "expanding".into(),
                        ..Default::default()
                    }),
                ));
                if i % 5 == 2 {
                    out.push(crm(
                        &l,
                        &format!("ps{i}"),
                        at(6, d, 9),
                        Payload::PocStarted(pb::PocStarted {
                            owner_id: "se-1".into(),
                            use_case: "funnel".into(),
                        }),
                    ));
                    out.push(crm(
                        &l,
                        &format!("pc{i}"),
                        at(6, d, 12),
                        Payload::PocCompleted(pb::PocCompleted {
                            outcome: pb::PocOutcome::Success as i32,
                            notes: String::new(),
                        }),
                    ));
                    out.push(signed(
                        &l,
                        &format!("s{i}"),
                        at(6, d, 15),
                        10_000 + i64::try_from(i).unwrap(),
                    ));
                } else if i % 2 == 0 {
                    out.push(crm(
                        &l,
                        &format!("lost{i}"),
                        at(6, d, 9),
                        Payload::Lost(pb::Lost {
                            reason: "price".into(),
                            competitor: "globex".into(),
                            ..Default::default()
                        }),
                    ));
                }
            }
            _ => {
                // Recycled to the public pool, then disqualified.
                out.push(crm(
                    &l,
                    &format!("rc{i}"),
                    at(5, d, 20),
                    Payload::Recycled(pb::Recycled {
                        reason: "no answer".into(),
                        ..Default::default()
                    }),
                ));
                if i % 11 == 3 {
                    out.push(crm(
                        &l,
                        &format!("dq{i}"),
                        at(6, d, 20),
                        Payload::Disqualified(pb::Disqualified {
                            reason: "student".into(),
                            ..Default::default()
                        }),
                    ));
                }
            }
        }
    }
    out
}

/// The rows that must not depend on how often or in which order facts arrived.
async fn comparable_rows(env: &TestEnv) -> anyhow::Result<Vec<String>> {
    let mut rows: Vec<String> = dump_read_models(&env.store)
        .await?
        .into_iter()
        .filter(|r| {
            r.starts_with("leads: ")
                || r.starts_with("stage_visits: ")
                || r.starts_with("stage_transitions: ")
        })
        .collect();
    // The timeline without what legitimately differs (log position, ingest time, raw bytes
    // with the ingest time and trace inside, body with the ingest time).
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws('|', event_id, tenant_id, lead_id, event_type, schema_version, \
         occurred_at, source_system, source_event_id, known) FROM lead_events ORDER BY event_id",
    )
    .fetch_all(&env.store.pool)
    .await?;
    rows.extend(events.into_iter().map(|e| format!("lead_events: {e}")));
    Ok(rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_storm_gives_the_rows_of_one_clean_send() -> anyhow::Result<()> {
    let started = Instant::now();
    let events = rich_workload(250);
    let distinct = events.len();

    // The reference: every event once, in order, one client.
    let clean = TestEnv::start(3).await?;
    send_all(clean.addr, events.clone(), 200).await?;

    // The storm: every event 2..=5 times, shuffled, from four clients at once, in batches
    // of 1..=150 (a batch may carry the same event twice).
    let mut storm = TestEnv::start(3).await?;
    let mut rng = Rng(20_260_422);
    let mut copies = Vec::new();
    for e in &events {
        for _ in 0..2 + rng.below(4) {
            copies.push(e.clone());
        }
    }
    rng.shuffle(&mut copies);
    let sent = copies.len();
    let clients = 4;
    let per = sent.div_ceil(clients);
    let mut tasks = Vec::new();
    for (c, part) in copies.chunks(per).enumerate() {
        let mut sizes = Rng(7 + c as u64);
        let part = part.to_vec();
        let addr = storm.addr;
        tasks.push(tokio::spawn(async move {
            let mut ingest = IngestServiceClient::connect(format!("http://{addr}")).await?;
            let mut rest = &part[..];
            while !rest.is_empty() {
                let n = (1 + sizes.below(150)).min(rest.len());
                append(&mut ingest, T, rest[..n].to_vec()).await?;
                rest = &rest[n..];
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let sent_at = started.elapsed();
    assert_eq!(
        storm.end_offsets(&storm.log.topic)?.iter().sum::<i64>(),
        i64::try_from(sent)?,
        "every copy is in the log"
    );

    clean.wait_caught_up(WAIT).await?;
    storm.wait_caught_up(WAIT).await?;
    let reference = comparable_rows(&clean).await?;
    let got = comparable_rows(&storm).await?;
    let n_events = got
        .iter()
        .filter(|r| r.starts_with("lead_events: "))
        .count();
    assert_eq!(n_events, distinct, "distinct events applied");
    assert_eq!(reference.len(), got.len());
    if let Some((a, b)) = reference.iter().zip(&got).find(|(a, b)| a != b) {
        panic!("first differing row:\n clean: {a}\n storm: {b}");
    }
    // Every payload type reads back from its log bytes as it was applied.
    assert_eq!(assert_stored_events_decode(&storm.store).await?, distinct);
    let totals = storm.stop_projector().await?;
    assert_eq!(
        totals.applied + totals.duplicates,
        u64::try_from(sent)?,
        "{totals:?}"
    );
    assert_eq!(totals.applied, u64::try_from(distinct)?, "{totals:?}");
    assert_eq!(totals.dead_letters, 0);
    eprintln!(
        "duplicate storm: {distinct} distinct events sent as {sent} records by {clients} clients \
         in {} ms; {} rows identical to the clean send; totals {totals:?}; {} ms in all",
        ms(sent_at),
        got.len(),
        ms(started.elapsed())
    );
    clean.cleanup().await?;
    storm.cleanup().await
}

// ---------------------------------------------------------------------------------------
// c. Poison records and a future schema version amid a workload
// ---------------------------------------------------------------------------------------

fn log_event(id: &str, lead: &str) -> pb::Event {
    pb::Event {
        event_id: id.into(),
        tenant_id: T.into(),
        lead_id: lead.into(),
        occurred_at: Some(time_to_proto(at(5, 20, 9))),
        recorded_at: Some(time_to_proto(at(5, 20, 9))),
        source: Some(pb::SourceRef {
            system: "crm-next".into(),
            event_id: id.into(),
        }),
        schema_version: 1,
        event_type: "sales_accepted".into(),
        payload: Some(Payload::SalesAccepted(pb::SalesAccepted {
            rep_id: "rep-poison".into(),
        })),
        ..Default::default()
    }
}

fn uuid(n: u128) -> String {
    uuid::Uuid::from_u128(0xdead_0000_0000_0000_0000_0000_0000_0000 + n).to_string()
}

/// Records that cannot be applied, each with the reason the dead letter must give.
fn poison() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let valid = log_event(&uuid(1), "L-00003").encode_to_vec();
    let mut invalid_utf8 = log_event(&uuid(2), "L-00003#").encode_to_vec();
    let hash = invalid_utf8.iter().position(|b| *b == b'#').unwrap();
    invalid_utf8[hash] = 0xff;
    let with = |f: fn(&mut pb::Event)| {
        let mut e = log_event(&uuid(3), "L-00005");
        f(&mut e);
        e.encode_to_vec()
    };
    vec![
        (
            "garbage",
            b"\xff\xfe not protobuf at all".to_vec(),
            "not a leadledger.v1.Event",
        ),
        ("empty value", Vec::new(), "record has no value"),
        (
            "truncated",
            valid[..valid.len() - 3].to_vec(),
            "not a leadledger.v1.Event",
        ),
        ("invalid UTF-8", invalid_utf8, "not a leadledger.v1.Event"),
        (
            "no event id",
            with(|e| e.event_id.clear()),
            "event_id: required",
        ),
        (
            "event id not a UUID",
            with(|e| e.event_id = "nope".into()),
            "event_id: must be a UUID",
        ),
        (
            "no tenant",
            with(|e| e.tenant_id.clear()),
            "tenant_id and lead_id are required",
        ),
        (
            "NUL in a string",
            with(|e| e.lead_id = "L-\0".into()),
            "NUL",
        ),
        (
            "no occurred_at",
            with(|e| e.occurred_at = None),
            "occurred_at: required",
        ),
        (
            "recorded_at nanos out of range",
            with(|e| {
                e.recorded_at = Some(prost_types::Timestamp {
                    seconds: 1_775_000_000,
                    nanos: 2_000_000_000,
                })
            }),
            "recorded_at: not a valid timestamp",
        ),
        // Decodes, but PostgreSQL cannot store the time: the batch fails as a whole, is
        // applied record by record, and only this record is dead-lettered.
        (
            "occurred_at before PostgreSQL's range",
            {
                let mut e = log_event(&uuid(4), "L-00005");
                e.occurred_at = Some(prost_types::Timestamp {
                    seconds: -250_000_000_000,
                    nanos: 0,
                });
                e.encode_to_vec()
            },
            "could not be applied",
        ),
    ]
}

/// Reads `n` records of `topic` from the beginning.
async fn read_all(
    brokers: &str,
    topic: &str,
    n: usize,
) -> anyhow::Result<Vec<rdkafka::message::OwnedMessage>> {
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("read-{}", leadledger_e2e::unique()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    c.subscribe(&[topic])?;
    let mut out = Vec::new();
    let deadline = Instant::now() + WAIT;
    while out.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, c.recv())
            .await
            .map_err(|_| anyhow::anyhow!("read only {} of {n} records of {topic}", out.len()))??;
        out.push(m.detach());
    }
    Ok(out)
}

fn header(m: &rdkafka::message::OwnedMessage, key: &str) -> String {
    m.headers()
        .and_then(|h| h.iter().find(|h| h.key == key))
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_and_future_versions_amid_a_workload() -> anyhow::Result<()> {
    let started = Instant::now();
    let env = TestEnv::start(3).await?;
    let leads = 600;
    let expected = Expected::of(leads);
    let poison = poison();
    // A newer writer's event: a payload this reader knows, but schema version 99. If it were
    // folded, L-00001 (captured, MQL) would become an SQL owned by rep-future.
    let future_id = uuid(99);
    let mut future = log_event(&future_id, "L-00001");
    future.schema_version = 99;
    if let Some(Payload::SalesAccepted(a)) = future.payload.as_mut() {
        a.rep_id = "rep-future".into();
    }

    let mut ingest = env.ingest().await?;
    let workload = funnel_workload(leads);
    let batches: Vec<&[pb::Event]> = workload.chunks(120).collect();
    assert!(batches.len() > poison.len());
    for (i, b) in batches.iter().enumerate() {
        append(&mut ingest, T, b.to_vec()).await?;
        if let Some((_, value, _)) = poison.get(i) {
            produce_raw(&env.log.brokers, &env.log.topic, "L-00003", value, None).await?;
        }
        if i == 5 {
            produce_raw(
                &env.log.brokers,
                &env.log.topic,
                "L-00001",
                &future.encode_to_vec(),
                None,
            )
            .await?;
        }
    }
    let records = env.end_offsets(&env.log.topic)?.iter().sum::<i64>();
    assert_eq!(
        records,
        expected.events + i64::try_from(poison.len())? + 1,
        "log"
    );
    env.wait_caught_up(WAIT).await?;

    // Everything else exactly: the funnel workload plus the future event, which counts as an
    // event of L-00001 but changes nothing else.
    let with_future = Expected {
        events: expected.events + 1,
        ..expected
    };
    let q = |sql: &'static str| scalar_retrying(&env.store, sql, Duration::from_secs(10));
    assert_eq!(q("SELECT count(*) FROM leads").await?, with_future.leads);
    assert_eq!(
        q("SELECT count(*) FROM lead_events").await?,
        with_future.events
    );
    assert_eq!(
        q("SELECT count(*) FROM leads WHERE max_rank >= 3").await?,
        with_future.sql
    );
    assert_eq!(
        q("SELECT count(*) FROM leads WHERE stage = 'signed'").await?,
        with_future.signed
    );
    assert_eq!(
        q("SELECT sum(signed_amount_minor)::int8 FROM leads").await?,
        with_future.amount
    );
    assert_eq!(
        q("SELECT count(*) FROM stage_visits").await?,
        expected.events,
        "the future event opened no visit"
    );
    let (known, version, event_type): (bool, i32, String) = sqlx::query_as(
        "SELECT known, schema_version, event_type FROM lead_events WHERE event_id = $1::uuid",
    )
    .bind(&future_id)
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(
        (known, version, event_type.as_str()),
        (false, 99, "sales_accepted")
    );
    let (stage, rep, count, unknown): (String, String, i32, i32) = sqlx::query_as(
        "SELECT stage, owner_rep_id, event_count, unknown_event_count FROM leads \
         WHERE tenant_id = $1 AND lead_id = 'L-00001'",
    )
    .bind(T)
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(
        (stage.as_str(), rep.as_str(), count, unknown),
        ("mql", "", 3, 1),
        "kept, counted, not folded"
    );
    let poisoned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM lead_events WHERE source_system = 'crm-next' AND schema_version = 1",
    )
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(poisoned, 0, "no poison record was applied");
    // The future version and the rest read back from their log bytes as they were applied.
    let decoded = assert_stored_events_decode(&env.store).await?;
    assert_eq!(i64::try_from(decoded)?, with_future.events);

    // Every poison record is in the dead-letter topic once, untouched, with its reason.
    let dlq = env.log.dead_letter_topic();
    assert_eq!(
        env.end_offsets(&dlq)?.iter().sum::<i64>(),
        i64::try_from(poison.len())?
    );
    let letters = read_all(&env.log.brokers, &dlq, poison.len()).await?;
    let origins: BTreeSet<String> = letters.iter().map(|m| header(m, "ll-dlq-origin")).collect();
    assert_eq!(origins.len(), poison.len(), "one dead letter per record");
    for (name, value, reason) in &poison {
        let m = letters
            .iter()
            .find(|m| m.payload().unwrap_or_default() == value.as_slice())
            .unwrap_or_else(|| panic!("no dead letter for {name}"));
        let got = header(m, "ll-dlq-reason");
        assert!(
            got.contains(reason),
            "{name}: reason {got:?} lacks {reason:?}"
        );
        assert!(header(m, "ll-dlq-origin").starts_with(&env.log.topic));
    }
    let mut env = env;
    let totals = env.stop_projector().await?;
    assert_eq!(
        totals.dead_letters,
        u64::try_from(poison.len())?,
        "{totals:?}"
    );
    assert_eq!(
        i64::try_from(totals.applied)?,
        with_future.events,
        "{totals:?}"
    );
    eprintln!(
        "poison: {} records ({} poison, 1 future) -> {} applied, {} dead letters in {} ms",
        records,
        poison.len(),
        totals.applied,
        totals.dead_letters,
        ms(started.elapsed())
    );
    env.cleanup().await
}

// ---------------------------------------------------------------------------------------
// d. Consumer-group rebalance under load
// ---------------------------------------------------------------------------------------

const SECOND: &str = "projector-2";

/// Partitions whose checkpoint the second projector (`second`) or another connection moved
/// after writer row `after`.
async fn moved_by(
    store: &leadledger_store::Store,
    second: bool,
    after: i64,
) -> anyhow::Result<BTreeSet<i32>> {
    let rows: Vec<i32> = sqlx::query_scalar(
        "SELECT DISTINCT partition FROM test_checkpoint_writers \
         WHERE (app = $1) = $2 AND seq > $3",
    )
    .bind(SECOND)
    .bind(second)
    .bind(after)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Partitions whose checkpoint was last moved by the second projector.
async fn last_moved_by_second(store: &leadledger_store::Store) -> anyhow::Result<BTreeSet<i32>> {
    let rows: Vec<i32> = sqlx::query_scalar(
        "SELECT partition FROM (SELECT DISTINCT ON (partition) partition, app \
         FROM test_checkpoint_writers ORDER BY partition, seq DESC) t WHERE app = $1",
    )
    .bind(SECOND)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().collect())
}

async fn last_writer_row(store: &leadledger_store::Store) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM test_checkpoint_writers")
            .fetch_one(&store.pool)
            .await?,
    )
}

/// Waits until the workload task has sent `n` batches.
async fn wait_sent(sent: &std::sync::atomic::AtomicUsize, n: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + WAIT;
    while sent.load(std::sync::atomic::Ordering::SeqCst) < n {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the workload stalled before batch {n}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// Grants batches to the workload task one at a time (each after the previous one was
/// sent, so load keeps flowing) until `done` holds; fails after `WAIT`. Returns how many
/// were granted.
async fn grant_until<F, Fut>(
    gate: &tokio::sync::Semaphore,
    sent: &std::sync::atomic::AtomicUsize,
    mut done: F,
    what: &str,
) -> anyhow::Result<usize>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    use std::sync::atomic::Ordering;
    let deadline = Instant::now() + WAIT;
    let mut granted = 0;
    loop {
        if done().await? {
            return Ok(granted);
        }
        anyhow::ensure!(Instant::now() < deadline, "{what}: not within {WAIT:?}");
        let before = sent.load(Ordering::SeqCst);
        gate.add_permits(1);
        granted += 1;
        let sent_by = Instant::now() + WAIT;
        while sent.load(Ordering::SeqCst) == before {
            anyhow::ensure!(Instant::now() < sent_by, "{what}: the workload stalled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Pacing only (about ten batches a second), so the workload outlasts the rebalance.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_projector_joins_and_leaves_under_load() -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let started = Instant::now();
    let mut env = TestEnv::start(3).await?;
    env.kill_projector().await;
    record_checkpoint_writers(&env.store).await?;
    env.projector_batch_max = 100;
    env.start_projector();
    let leads = 3000;
    let expected = Expected::of(leads);

    // The workload sends one batch of 50 events per permit, so the test decides when load
    // flows; it always flows while the group changes.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let batches: Vec<Vec<pb::Event>> = funnel_workload(leads)
        .chunks(50)
        .map(<[pb::Event]>::to_vec)
        .collect();
    let total_batches = batches.len();
    let load = {
        let (gate, sent, addr) = (gate.clone(), sent.clone(), env.addr);
        tokio::spawn(async move {
            let mut ingest = IngestServiceClient::connect(format!("http://{addr}")).await?;
            for b in batches {
                gate.acquire().await?.forget();
                append(&mut ingest, T, b).await?;
                sent.fetch_add(1, Ordering::SeqCst);
            }
            anyhow::Ok(())
        })
    };

    // Phase 1: one projector.
    gate.add_permits(20);
    wait_sent(&sent, 20).await?;
    env.wait_caught_up(WAIT).await?;

    // Phase 2: a second projector (same group, same database, its own connections named
    // projector-2) joins while batches flow, until it has committed a batch.
    let second = SecondProjector::start(&env, SECOND).await?;
    let join_started = Instant::now();
    let store = env.store.clone();
    let during_join = grant_until(
        &gate,
        &sent,
        || {
            let store = store.clone();
            async move { Ok(!moved_by(&store, true, 0).await?.is_empty()) }
        },
        "the second projector applying",
    )
    .await?;
    let join_ms = ms(join_started.elapsed());
    // Both members: more load, applied completely.
    let mark = sent.load(Ordering::SeqCst);
    gate.add_permits(20);
    wait_sent(&sent, mark + 20).await?;
    env.wait_caught_up(WAIT).await?;
    let owned_by_second = last_moved_by_second(&env.store).await?;
    assert!(!owned_by_second.is_empty());

    // Phase 3: the second projector leaves while batches flow, until the first one has
    // committed checkpoints of the second one's partitions again.
    let before_leave = last_writer_row(&env.store).await?;
    second.leave();
    let leave_started = Instant::now();
    let wanted = owned_by_second.clone();
    let during_leave = grant_until(
        &gate,
        &sent,
        || {
            let (store, wanted) = (store.clone(), wanted.clone());
            async move {
                Ok(moved_by(&store, false, before_leave)
                    .await?
                    .is_superset(&wanted))
            }
        },
        "the first projector taking the partitions back",
    )
    .await?;
    let leave_ms = ms(leave_started.elapsed());
    let totals2 = second.stop().await?;

    // Phase 4: the rest.
    gate.add_permits(total_batches);
    load.await??;
    env.wait_caught_up(WAIT).await?;
    assert_exact(&env.store, expected).await?;
    let totals1 = env.stop_projector().await?;
    eprintln!(
        "rebalance: second projector applying after {join_ms} ms ({during_join} batches sent \
         meanwhile), owned partitions {owned_by_second:?}; first took them back {leave_ms} ms \
         after the leave ({during_leave} batches); first {totals1:?}; second {totals2:?}; \
         {} ms in all",
        ms(started.elapsed())
    );
    assert!(totals2.applied > 0, "the second projector applied nothing");
    assert_eq!(totals1.dead_letters + totals2.dead_letters, 0);
    assert_eq!(
        i64::try_from(totals1.applied + totals2.applied)?,
        expected.events,
        "each event applied by exactly one projector: {totals1:?} {totals2:?}"
    );
    assert_eq!(
        env.end_offsets(&env.log.dead_letter_topic())?
            .iter()
            .sum::<i64>(),
        0
    );
    env.cleanup().await
}
