//! Outgoing webhooks end to end (docs/SLA.md, "Webhooks"): the real SLA worker appends
//! alerts, the projector applies them, and the webhook deliverer POSTs them to a local HTTP
//! receiver that answers at once, fails, answers slowly, hangs past the timeout or is down.
//! Every notice arrives signed, with its idempotency key, at least once, in order per lead;
//! the one that is down gets every notice into the dead-letter list; delivery state survives
//! a restart of the deliverer.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use leadledger_e2e::events::{at, captured, mql};
use leadledger_e2e::receiver::Receiver;
use leadledger_e2e::{append, TestEnv};
use leadledger_sla::PolicySet;
use leadledger_store::webhooks::{self, Subscription};
use leadledger_workers::sla_worker::ManualClock;
use leadledger_workers::webhooks::{self as deliverer, WebhookConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const T: &str = "acme";
const SECRET: &str = "whsec_test_0123456789abcdef";
const WAIT: Duration = Duration::from_secs(90);
const LEADS: usize = 4;

fn subscription(id: &str, url: String, kinds: &[&str]) -> Subscription {
    Subscription {
        subscription_id: id.into(),
        tenant_id: T.into(),
        name: id.into(),
        url,
        secret: SECRET.into(),
        kinds: kinds.iter().map(|k| k.to_string()).collect(),
        team: String::new(),
        rep_id: String::new(),
        segment: String::new(),
        region: String::new(),
        created_at: Utc::now(),
        disabled_at: None,
    }
}

fn start(env: &TestEnv) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let cfg = WebhookConfig {
        tick: Duration::from_millis(50),
        timeout: Duration::from_secs(1),
        max_attempts: 4,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        concurrency: 8,
    };
    let task = tokio::spawn(deliverer::run(
        deliverer::Deps {
            store: env.store.clone(),
            topic: env.log.topic.clone(),
            cfg,
        },
        stop.clone(),
    ));
    (stop, task)
}

async fn alert_ids(env: &TestEnv) -> anyhow::Result<Vec<(String, String, i32, i64)>> {
    Ok(sqlx::query_as(
        "SELECT event_id::text, lead_id, log_partition, log_offset FROM lead_events \
         WHERE tenant_id = $1 AND event_type IN ('sla_at_risk', 'sla_breached') \
         ORDER BY log_partition, log_offset",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn wait_alerts(env: &TestEnv, n: usize) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while alert_ids(env).await?.len() < n {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "fewer than {n} alerts"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.wait_caught_up(WAIT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_arrive_signed_in_order_at_least_once_and_the_undeliverable_are_dead_lettered(
) -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let rx = Arc::new(Receiver::new(SECRET));
    tokio::spawn(leadledger_e2e::receiver::serve(listener, rx.clone()));
    for (id, path, kinds) in [
        ("wh_ok", "/ok", &["at_risk", "breached", "escalated"][..]),
        ("wh_breached", "/breached", &["breached"][..]),
        ("wh_flaky", "/flaky", &["at_risk", "breached"][..]),
        ("wh_slow", "/slow", &["at_risk", "breached"][..]),
        ("wh_hang", "/hang", &["at_risk", "breached"][..]),
        ("wh_down", "/down", &["at_risk", "breached"][..]),
    ] {
        webhooks::create(
            &env.store.pool,
            &subscription(id, format!("{base}{path}"), kinds),
            &BTreeMap::new(),
        )
        .await?;
    }

    // Leads with MQLs on Monday 2 March 2026, 10:00 UTC (the default policies on a UTC
    // Monday–Friday 09–18 calendar): follow-up at risk Wednesday 11:12, due 16:00;
    // accept/reject at risk Friday 11:24, due Monday 9 March 13:00.
    let mut ingest = env.ingest().await?;
    let mut events = Vec::new();
    for i in 0..LEADS {
        let lead = format!("L{i}");
        events.push(captured(&lead, &format!("c{i}"), at(3, 2, 9), "webinar"));
        events.push(mql(&lead, &format!("m{i}"), at(3, 2, 10)));
    }
    append(&mut ingest, T, events).await?;
    env.wait_caught_up(WAIT).await?;
    let (stop, task) = start(&env);

    let clock = Arc::new(ManualClock::new(at(3, 4, 12)));
    let worker = env.start_sla_worker(PolicySet::defaults(), clock.clone())?;
    wait_alerts(&env, LEADS).await?;
    wait_for("the first alerts at /ok", || {
        rx.accepted("/ok").len() >= LEADS
    })
    .await?;
    // The deliverer stops while /flaky, /hang and /down are failing: what it knew is stored.
    wait_for("a failure at /down", || !rx.hits("/down").is_empty()).await?;
    stop.cancel();
    task.await?;
    let failing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_cursors WHERE subscription_id = 'wh_down' AND attempts > 0",
    )
    .fetch_one(&env.store.pool)
    .await?;
    assert!(failing > 0, "the failures at /down are stored");

    clock.set(at(3, 9, 12));
    wait_alerts(&env, 3 * LEADS).await?;
    clock.set(at(3, 9, 14));
    wait_alerts(&env, 4 * LEADS).await?;
    worker.stop().await;
    let (stop, task) = start(&env);

    let alerts = alert_ids(&env).await?;
    let all = alerts.len();
    assert_eq!(all, 4 * LEADS);
    wait_for("every notice at /ok, /flaky, /slow", || {
        ["/ok", "/flaky", "/slow"]
            .iter()
            .all(|p| rx.accepted(p).len() >= all)
    })
    .await?;
    wait_for("every notice at /hang", || {
        let got: std::collections::HashSet<String> = rx
            .accepted("/hang")
            .into_iter()
            .map(|h| h.event_id)
            .collect();
        got.len() >= all
    })
    .await?;
    let dead_letters = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM webhook_dead_letters WHERE subscription_id = 'wh_down'",
        )
        .fetch_one(&env.store.pool)
        .await
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while usize::try_from(dead_letters().await?)? < all {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "dead letters missing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few more turns deliver nothing more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.cancel();
    task.await?;

    let ids: Vec<String> = alerts.iter().map(|a| a.0.clone()).collect();
    let position: HashMap<String, (i64, i64)> = alerts
        .iter()
        .map(|a| (a.0.clone(), (i64::from(a.2), a.3)))
        .collect();
    for path in ["/ok", "/flaky", "/slow", "/hang", "/down"] {
        let hits = rx.hits(path);
        assert!(hits.iter().all(|h| h.signed), "{path}: a bad signature");
        assert!(
            hits.iter()
                .all(|h| position.get(&h.event_id) == Some(&h.position)),
            "{path}: a notice's position is not its event's"
        );
        // In order per lead: each lead's attempts never go back to an earlier notice once a
        // later one was tried.
        let mut last: HashMap<String, (i64, i64)> = HashMap::new();
        for h in &hits {
            if let Some(prev) = last.get(&h.lead_id) {
                assert!(h.position >= *prev, "{path}: {} out of order", h.lead_id);
            }
            last.insert(h.lead_id.clone(), h.position);
        }
    }
    // Exactly once where every answer came: /ok, /slow; /flaky after two 500s each.
    for path in ["/ok", "/slow", "/flaky"] {
        let mut got: Vec<String> = rx.accepted(path).into_iter().map(|h| h.event_id).collect();
        got.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(got, want, "{path}");
    }
    assert!(ids.iter().all(|id| rx.tries("/flaky", id) == 3));
    // /hang: the first attempt of each notice timed out (and is answered later, unheard), so
    // each arrives twice with the same idempotency key: at least once.
    assert!(ids.iter().all(|id| rx.tries("/hang", id) == 2));
    // Filters: breached only.
    let breached: Vec<String> = rx
        .accepted("/breached")
        .into_iter()
        .map(|h| h.kind)
        .collect();
    assert_eq!(breached.len(), 2 * LEADS);
    assert!(breached.iter().all(|k| k == "breached"));
    // /down: every notice tried 4 times, then given up with its body; nothing left pending.
    assert!(ids.iter().all(|id| rx.tries("/down", id) == 4));
    let dead = webhooks::dead_letters(&env.store.pool, Some("wh_down"), 100).await?;
    assert_eq!(dead.len(), all);
    for d in &dead {
        assert_eq!(d.attempts, 4);
        assert_eq!(d.last_error, "HTTP 503 Service Unavailable");
        let body: serde_json::Value = serde_json::from_str(&d.body)?;
        assert_eq!(body["event_id"], d.event_id.to_string());
    }
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_cursors WHERE attempts > 0")
            .fetch_one(&env.store.pool)
            .await?;
    assert_eq!(pending, 0);
    env.cleanup().await
}
