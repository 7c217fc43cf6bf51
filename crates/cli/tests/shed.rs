//! Load shedding of the real binary (issue 15, limits): when a resource of the process is
//! saturated a call is refused at once with UNAVAILABLE (retryable, `RetryInfo`) instead of
//! queueing until its deadline, and a refused call leaves nothing behind.
//!
//! - The log's queue: `serve --role all` with `limits.log_queue = 500` on a private Tansu
//!   broker that the test freezes (SIGSTOP). A first call of 500 events waits for the
//!   acknowledgements; a second of 300 does not fit and is refused in well under a second, and
//!   so is a `ClaimLead` (its intent takes room in the same queue); once the broker is thawed
//!   the first is acknowledged, the log holds exactly its events and none of the refused
//!   calls', and the refused call sent again is appended.
//! - The database pool: `serve --role query` with 2 read connections and
//!   `limits.db_wait_ms = 300` while the test holds a lock on `leads`: two `ListLeads` wait on
//!   the lock holding both connections, the others are refused after about 300 ms; once the
//!   lock is released the waiting two answer.

use std::time::{Duration, Instant};

use leadledger_api::pb::ownership_service_client::OwnershipServiceClient;
use leadledger_api::pb::query_service_client::QueryServiceClient;
use leadledger_api::pb::{self, ingest_service_client::IngestServiceClient};
use leadledger_e2e::events::{at, captured};
use leadledger_e2e::process::{test_dir, Leadledger, Tansu};
use leadledger_e2e::workload::log_event_ids;
use leadledger_e2e::{brokers, fresh_database, unique};
use leadledger_store::Store;
use tonic::Code;
use tonic_types::StatusExt as _;

const BIN: &str = env!("CARGO_BIN_EXE_leadledger");
const TMP: &str = env!("CARGO_TARGET_TMPDIR");

/// The real binary serving `role` with `settings` (and no authentication, on 127.0.0.1),
/// and a channel to it.
async fn serve(
    role: &str,
    settings: &[(&str, String)],
    dir: &std::path::Path,
) -> anyhow::Result<(Leadledger, tonic::transport::Channel)> {
    let mut settings = settings.to_vec();
    settings.push(("auth.mode", "none".into()));
    let mut server = Leadledger::new(BIN, role, role, &settings, dir)?;
    server.start().await?;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))?
        .connect()
        .await?;
    Ok((server, channel))
}

fn batch(tag: &str, n: usize) -> Vec<pb::Event> {
    (0..n)
        .map(|i| {
            captured(
                &format!("{tag}-{i}"),
                &format!("{tag}-{i}"),
                at(3, 1, 9),
                "webinar",
            )
        })
        .collect()
}

async fn append(
    client: &mut IngestServiceClient<tonic::transport::Channel>,
    events: Vec<pb::Event>,
) -> Result<pb::AppendResponse, tonic::Status> {
    client
        .append(pb::AppendRequest {
            tenant_id: "acme".into(),
            events,
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_log_queue_refuses_whole_calls_at_once() -> anyhow::Result<()> {
    let dir = test_dir(TMP, "shed-log")?;
    let broker = Tansu::start(&dir).await?;
    let topic = format!("shed.{}", unique());
    let (url, store) = fresh_database("shedlog").await?;
    let (server, channel) = serve(
        "all",
        &[
            ("database.url", url.clone()),
            ("kafka.brokers", broker.brokers()),
            ("kafka.topic", topic.clone()),
            ("kafka.partitions", "1".into()),
            ("kafka.headers", "false".into()),
            ("limits.log_queue", "500".into()),
        ],
        &dir,
    )
    .await?;
    let mut client = IngestServiceClient::new(channel.clone());
    let mut owners = OwnershipServiceClient::new(channel);
    // The producer knows the topic and its leader before the broker freezes.
    append(&mut client, batch("warm", 1)).await?;

    broker.pause()?;
    let first = batch("first", 500);
    let first_ids: Vec<String> = {
        let mut c = client.clone();
        let events = first.clone();
        // Its events are now in the producer's queue, waiting for the frozen broker.
        let waiting = tokio::spawn(async move { append(&mut c, events).await });
        // Time for the server to take the call's room (milliseconds unloaded; generous for a
        // loaded 2-core machine).
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!waiting.is_finished(), "acknowledged by a frozen broker");

        let started = Instant::now();
        let refused = append(&mut client, batch("second", 300))
            .await
            .expect_err("300 more events do not fit in a queue of 500 holding 500");
        let took = started.elapsed();
        assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
        assert!(
            refused.message().contains("limits.log_queue"),
            "{refused:?}"
        );
        assert!(
            refused.get_details_retry_info().is_some(),
            "no RetryInfo: {refused:?}"
        );
        assert!(took < Duration::from_secs(2), "refused after {took:?}");
        eprintln!("shed in {} ms: {}", took.as_millis(), refused.message());
        // An ownership intent waits in the same queue: refused at once too.
        let claim = owners
            .claim_lead(pb::ClaimLeadRequest {
                tenant_id: "acme".into(),
                lead_id: "first-0".into(),
                rep_id: "ann".into(),
                team: "east".into(),
                request_id: "shed-claim".into(),
                ..Default::default()
            })
            .await
            .expect_err("no room for the claim's intent");
        assert_eq!(claim.code(), Code::Unavailable, "{claim:?}");
        assert!(claim.message().contains("limits.log_queue"), "{claim:?}");

        broker.resume()?;
        let acked = tokio::time::timeout(Duration::from_secs(60), waiting).await???;
        acked.acks.into_iter().map(|a| a.event_id).collect()
    };
    assert_eq!(first_ids.len(), 500);

    // Nothing of the refused call reached the log; the first call's events all did, once.
    let log = log_event_ids(&broker.brokers(), &topic, Duration::from_secs(30)).await?;
    assert_eq!(log.len(), 501, "warm-up + first call");
    let logged: std::collections::BTreeSet<&String> = log.values().collect();
    assert!(first_ids.iter().all(|id| logged.contains(id)));

    // The refused call, sent again now that the queue has room, is appended whole.
    let again = append(&mut client, batch("second", 300)).await?;
    assert_eq!(again.acks.len(), 300);
    let log = log_event_ids(&broker.brokers(), &topic, Duration::from_secs(30)).await?;
    assert_eq!(log.len(), 801);
    // Its database goes with it (it was left behind by every run).
    drop(server);
    store.pool.close().await;
    Store::drop_database(&url).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_read_pool_refuses_reads_after_db_wait() -> anyhow::Result<()> {
    let dir = test_dir(TMP, "shed-db")?;
    let (url, store) = fresh_database("shed").await?;
    store.migrate().await?;
    let (server, channel) = serve(
        "query",
        &[
            ("kafka.brokers", brokers()),
            ("kafka.topic", format!("shed.{}", unique())),
            ("database.url", url.clone()),
            ("database.max_connections", "2".into()),
            ("limits.db_wait_ms", "300".into()),
        ],
        &dir,
    )
    .await?;
    let client = QueryServiceClient::new(channel);
    let list = |mut c: QueryServiceClient<tonic::transport::Channel>| async move {
        let started = Instant::now();
        let r = c
            .list_leads(pb::ListLeadsRequest {
                tenant_id: "acme".into(),
                page_size: 10,
                ..Default::default()
            })
            .await;
        (r.map(|_| ()), started.elapsed())
    };
    // Both connections of the pool open (it connects lazily), so that the reads below wait
    // only for the lock, never for a connection being opened.
    let (a, b) = tokio::join!(list(client.clone()), list(client.clone()));
    a.0?;
    b.0?;

    // Every read of `leads` now waits on this lock, holding its connection.
    let mut tx = store.pool.begin().await?;
    sqlx::query("LOCK TABLE leads IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let calls: Vec<_> = (0..6).map(|_| tokio::spawn(list(client.clone()))).collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let done: Vec<bool> = calls.iter().map(|c| c.is_finished()).collect();
    tx.rollback().await?;
    let mut shed = 0;
    let mut served = 0;
    for (call, finished_while_locked) in calls.into_iter().zip(done) {
        let (result, took) = call.await?;
        match result {
            Ok(()) => {
                assert!(!finished_while_locked, "a read of a locked table answered");
                served += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert!(status.message().contains("limits.db_wait_ms"), "{status:?}");
                assert!(finished_while_locked);
                assert!(
                    took >= Duration::from_millis(250) && took < Duration::from_secs(3),
                    "refused after {took:?}"
                );
                shed += 1;
            }
        }
    }
    assert_eq!((served, shed), (2, 4), "two connections, six reads");
    // The pool serves again.
    list(client.clone()).await.0?;
    drop(server);
    store.pool.close().await;
    Store::drop_database(&url).await?;
    Ok(())
}
