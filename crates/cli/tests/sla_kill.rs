//! kill -9 of the SLA worker process (`leadledger serve --role sla`) while it emits a
//! backlog of alerts and escalation steps, against the real broker and the real PostgreSQL:
//! every alert and every step must be on the topic exactly once at the end, each clock's
//! steps in the order of the ladder. The same process delivers the breach alerts to a
//! webhook subscription (made with `leadledger webhooks create`): every one arrives, signed,
//! at least once, across the kills.
//!
//! The workload's clocks are far past their thresholds (MQLs 100 days ago; a 1 h
//! "accept" policy with a three-step escalation ladder and a 10-year "follow-up" policy at
//! risk after 1 % of it), so the worker has a few thousand alerts and steps to append, 500 of
//! each per one-second tick; a clock's next step is due only once its previous one is
//! projected, so the steps of one clock come several ticks apart. It is SIGKILLed three
//! times while the alerts pile up on the topic — each time some of what it appended is not
//! projected yet — and restarted at once. A separate projector process (role `projector`,
//! the same policy file) keeps `sla_clocks` and `lead_events` up to date.
//!
//! Why a test of the `leadledger` package: see `kill.rs` (the binary's path).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, Utc};
use leadledger_api::pb;
use leadledger_domain::ids;
use leadledger_domain::ids::sla_alert_id;
use leadledger_e2e::events::{accepted, captured, mql};
use leadledger_e2e::process::{child_log_settings, test_dir, Leadledger};
use leadledger_e2e::receiver::Receiver;
use leadledger_e2e::workload::{log_event_ids, Rng, TENANT};
use leadledger_e2e::{append, TestEnv};
use leadledger_store::Store;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_leadledger");
const TMP: &str = env!("CARGO_TARGET_TMPDIR");
const WAIT: Duration = Duration::from_secs(90);
const SECRET: &str = "whsec_kill_test_0123456789";

const POLICIES: &str = r#"
version = 1

[[policy]]
id = "accept"
start = ["mql_qualified"]
target = ["sales_accepted"]
allowance = "1h"
business_time = false

[[policy.escalation]]
id = "tell"
on = "breached"
notify = ["owner", "sales-ops"]

[[policy.escalation]]
id = "chase"
on = "breached"
after = "1h"
notify = ["manager"]

[[policy.escalation]]
id = "pool"
on = "breached"
after = "2h"
notify = ["team_lead"]
reassign = "pool"

[[policy]]
id = "follow-up"
start = ["mql_qualified"]
target = ["follow_up_logged"]
allowance = "3650d"
business_time = false
at_risk_share = 0.01
"#;

/// The accept policy's steps, in ladder order.
const STEPS: [&str; 3] = ["tell", "chase", "pool"];

/// Per lead i: capture and MQL 100 days ago; every fifth lead accepted 30 min after its MQL
/// (its "accept" clock met in time). So every lead's "follow-up" clock is at risk (since
/// day 36.5, due in 10 years) and four leads in five breached "accept" long ago and owe its
/// three escalation steps. Returns the events, the alert ids and the step ids (per lead, in
/// ladder order).
fn workload(
    leads: usize,
    base: DateTime<Utc>,
) -> (Vec<pb::Event>, BTreeSet<Uuid>, BTreeMap<String, Vec<Uuid>>) {
    let mut events = Vec::new();
    let mut alerts = BTreeSet::new();
    let mut steps = BTreeMap::new();
    for i in 0..leads {
        let lead = format!("L-{i:05}");
        let t = base + chrono::Duration::seconds(i64::try_from(i).unwrap());
        events.push(captured(&lead, &format!("c{i}"), t, "webinar"));
        events.push(mql(
            &lead,
            &format!("m{i}"),
            t + chrono::Duration::minutes(1),
        ));
        let mql_id = ids::source_event_id(TENANT, "marketo", &format!("m{i}"));
        alerts.insert(sla_alert_id(mql_id, "follow-up", "at_risk"));
        if i % 5 == 0 {
            events.push(accepted(
                &lead,
                &format!("a{i}"),
                t + chrono::Duration::minutes(31),
                "rep-1",
            ));
        } else {
            alerts.insert(sla_alert_id(mql_id, "accept", "breached"));
            let ids = STEPS.map(|s| ids::escalation_id(mql_id, "accept", s));
            steps.insert(lead, ids.to_vec());
        }
    }
    (events, alerts, steps)
}

async fn scalar(store: &Store, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(&store.pool).await?)
}

const ALERTS_APPLIED: &str = "SELECT count(*) FROM lead_events WHERE event_type LIKE 'sla_%'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_worker_killed_while_emitting_appends_every_alert_and_step_exactly_once(
) -> anyhow::Result<()> {
    let mut env = TestEnv::start(3).await?;
    // The projector is a child process reading the same policy file.
    env.stop_projector().await?;
    let dir = test_dir(TMP, "kill-sla")?;
    let policy_file = dir.join("policies.toml");
    std::fs::write(&policy_file, POLICIES)?;
    let mut settings = child_log_settings(&env);
    // The test's database comes with `child_log_settings`.
    settings.extend([
        ("database.max_connections", "4".to_string()),
        ("sla.policy_file", policy_file.display().to_string()),
        ("sla.tick_ms", "1000".to_string()),
    ]);
    let mut projector = Leadledger::new(BIN, "projector", "projector", &settings, &dir)?;
    projector.start().await?;

    let leads = 2000;
    let base =
        (Utc::now() - chrono::Duration::days(100)).duration_trunc(chrono::Duration::seconds(1))?;
    let (events, alerts, steps) = workload(leads, base);
    let alerts_total = i64::try_from(alerts.len())?;
    let mut expected = alerts.clone();
    expected.extend(steps.values().flatten().copied());
    let mut ingest = env.ingest().await?;
    for chunk in events.chunks(500) {
        append(&mut ingest, TENANT, chunk.to_vec()).await?;
    }
    env.wait_caught_up(WAIT).await?;
    let client_records: i64 = env.end_offsets(&env.log.topic)?.iter().sum();
    assert_eq!(client_records, i64::try_from(events.len())?);
    assert_eq!(
        scalar(
            &env.store,
            "SELECT count(*) FROM sla_clocks WHERE status = 'running'"
        )
        .await?,
        alerts_total,
        "one running clock per expected alert"
    );

    // A webhook subscription for the breach alerts, made by the CLI, from the first notice.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/ok", listener.local_addr()?);
    let rx = Arc::new(Receiver::new(SECRET));
    tokio::spawn(leadledger_e2e::receiver::serve(listener, rx.clone()));
    let secret_file = dir.join("webhook-secret");
    std::fs::write(&secret_file, SECRET)?;
    let mut create = std::process::Command::new(BIN);
    create.args([
        "webhooks", "create", "--tenant", TENANT, "--url", &hook, "--kinds",
    ]);
    create.args(["breached", "--from-start", "--secret-file"]);
    create.arg(&secret_file);
    for (k, v) in &settings {
        create.arg("--set").arg(format!("{k}={v}"));
    }
    let out = create.output()?;
    anyhow::ensure!(
        out.status.success(),
        "webhooks create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let subscription = String::from_utf8(out.stdout)?.trim().to_string();
    anyhow::ensure!(subscription.starts_with("wh_"), "{subscription}");

    let mut sla = Leadledger::new(BIN, "sla", "sla", &settings, &dir)?;
    sla.start().await?;

    // Three kills, the k-th once between (10 + 25k)% and (25 + 25k)% of the alerts are on
    // the topic (seeded), right away: often mid-append, always before all are projected.
    let total = i64::try_from(expected.len())?;
    let mut rng = Rng(20_261_123);
    let mut kills = Vec::new();
    for k in 0..3 {
        let lo = usize::try_from(total)? * (10 + 25 * k) / 100;
        let hi = usize::try_from(total)? * (25 + 25 * k) / 100;
        let threshold = i64::try_from(rng.between(lo, hi))?;
        let deadline = Instant::now() + WAIT;
        let on_topic = loop {
            let on_topic = env.end_offsets(&env.log.topic)?.iter().sum::<i64>() - client_records;
            if on_topic >= threshold {
                break on_topic;
            }
            sla.proc.check_running()?;
            anyhow::ensure!(
                Instant::now() < deadline,
                "kill {k}: only {on_topic} of {threshold} alerts on the topic within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        sla.kill9()?;
        let applied = scalar(&env.store, ALERTS_APPLIED).await?;
        anyhow::ensure!(
            on_topic < total,
            "kill {k} came too late: all {total} alerts were already appended"
        );
        kills.push((on_topic, applied));
        sla.start().await?;
    }

    // Every alert applied, then a few more ticks of the last incarnation: nothing more.
    let deadline = Instant::now() + WAIT;
    while scalar(&env.store, ALERTS_APPLIED).await? < total {
        sla.proc.check_running()?;
        anyhow::ensure!(
            Instant::now() < deadline,
            "alerts not all applied within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Every breach alert at the webhook, signed, at least once (a kill between an answer
    // and the stored position sends one again, with the same idempotency key).
    let breaches: BTreeSet<String> = sqlx::query_scalar(
        "SELECT event_id::text FROM lead_events WHERE event_type = 'sla_breached'",
    )
    .fetch_all(&env.store.pool)
    .await?
    .into_iter()
    .collect();
    let deadline = Instant::now() + WAIT;
    loop {
        let got: BTreeSet<String> = rx.accepted("/ok").into_iter().map(|h| h.event_id).collect();
        if got == breaches {
            break;
        }
        sla.proc.check_running()?;
        anyhow::ensure!(
            Instant::now() < deadline,
            "webhook: {} of {} breach alerts within {WAIT:?}",
            got.len(),
            breaches.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hits = rx.hits("/ok");
    assert!(hits.iter().all(|h| h.signed && h.kind == "breached"));
    println!(
        "webhook {subscription}: {} breach alerts, {} requests",
        breaches.len(),
        hits.len()
    );
    sla.proc.check_running()?;
    sla.kill9()?;
    env.wait_caught_up(WAIT).await?;

    // The whole topic from offset 0: each expected alert exactly once, nothing else added.
    let records = log_event_ids(&env.log.brokers, &env.log.topic, WAIT).await?;
    let mut seen: BTreeMap<Uuid, usize> = BTreeMap::new();
    for id in records.values() {
        *seen.entry(Uuid::parse_str(id)?).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(
        twice.is_empty(),
        "ids on the topic more than once: {twice:?}"
    );
    let missing: Vec<_> = expected
        .iter()
        .filter(|id| !seen.contains_key(id))
        .take(5)
        .collect();
    assert!(missing.is_empty(), "alerts never appended: {missing:?}");
    assert_eq!(
        i64::try_from(records.len())?,
        client_records + total,
        "the topic holds the client's events and the expected alerts, nothing else"
    );
    let applied: BTreeSet<Uuid> =
        sqlx::query_scalar("SELECT event_id FROM lead_events WHERE event_type LIKE 'sla_%'")
            .fetch_all(&env.store.pool)
            .await?
            .into_iter()
            .collect();
    assert_eq!(
        applied, expected,
        "the alert and step ids are the expected set"
    );
    // Each clock's steps on the topic in ladder order (one lead, one partition), each at its
    // instant (the due time plus its delay), and none left to take.
    let at: BTreeMap<Uuid, (i32, i64)> = records
        .iter()
        .filter_map(|(pos, id)| Some((Uuid::parse_str(id).ok()?, *pos)))
        .collect();
    for (lead, ids) in &steps {
        let pos: Vec<(i32, i64)> = ids.iter().map(|id| at[id]).collect();
        assert!(
            pos.windows(2).all(|w| w[0].0 == w[1].0 && w[0].1 < w[1].1),
            "{lead}: steps out of order on the topic: {pos:?}"
        );
    }
    assert_eq!(
        scalar(
            &env.store,
            "SELECT count(*) FROM lead_events,                LATERAL (SELECT body->'payload'->'SlaEscalated' AS x) p              WHERE event_type = 'sla_escalated' AND occurred_at <> (x->>'due_at')::timestamptz                + make_interval(secs => (x->>'after_seconds')::float8)"
        )
        .await?,
        0,
        "steps not at their instants"
    );
    assert_eq!(
        scalar(
            &env.store,
            "SELECT count(*) FROM sla_clocks WHERE escalation_step IS NOT NULL"
        )
        .await?,
        0,
        "steps left to take"
    );
    // The clocks know their alerts (the flags the due-alert query narrows on, migration
    // 0013): every flag equals "that alert is in the lead's timeline", and as many are set
    // as alerts were appended, so nothing is left for the worker to look at.
    assert_eq!(
        scalar(
            &env.store,
            "SELECT count(*) FROM sla_clocks c WHERE \
               c.at_risk_alerted <> EXISTS (SELECT 1 FROM lead_events e \
                 WHERE e.event_id = c.at_risk_event_id) \
               OR c.breach_alerted <> EXISTS (SELECT 1 FROM lead_events e \
                 WHERE e.event_id = c.breach_event_id)"
        )
        .await?,
        0,
        "alert flags that disagree with the timeline"
    );
    assert_eq!(
        scalar(
            &env.store,
            "SELECT count(*) FILTER (WHERE at_risk_alerted) \
               + count(*) FILTER (WHERE breach_alerted) FROM sla_clocks"
        )
        .await?,
        alerts_total
    );
    // Each alert happened at its threshold, whenever the worker got to it.
    assert_eq!(
        scalar(
            &env.store,
            "SELECT count(*) FROM lead_events e JOIN sla_clocks c \
               ON e.event_id IN (c.at_risk_event_id, c.breach_event_id) \
             WHERE e.occurred_at <> CASE WHEN e.event_id = c.breach_event_id \
               THEN c.due_at ELSE c.at_risk_at END"
        )
        .await?,
        0
    );
    println!(
        "sla kill -9: {total} alerts and steps, kills at (on topic, applied) {kills:?}, {} starts",
        sla.proc.starts
    );
    projector.kill9()?;

    // The SLA history replays: the topic rebuilt from offset 0 into a fresh database (with
    // the same policies) gives the same clocks, with the same alert ids and thresholds, the
    // same alert events and every other row the live projector process wrote.
    env.derive = std::sync::Arc::new(leadledger_projection::Derivations {
        sla: leadledger_sla::TenantPolicies::single(leadledger_sla::PolicySet::from_toml(
            POLICIES,
        )?),
    });
    let live = leadledger_e2e::dump_read_models(&env.store).await?;
    let fresh = env.replay("sla-replay").await?;
    let replayed = leadledger_e2e::dump_read_models(&fresh).await?;
    // Every alert of the replay sits on its clock, as in the live rows.
    let alerts_on_clocks = "SELECT count(*) FROM lead_events e JOIN sla_clocks c \
        ON e.event_id IN (c.at_risk_event_id, c.breach_event_id)";
    assert_eq!(scalar(&fresh, alerts_on_clocks).await?, alerts_total);
    assert_eq!(scalar(&env.store, alerts_on_clocks).await?, alerts_total);
    leadledger_e2e::assert_same_rows(&replayed, &live, "read models replayed from offset 0");
    fresh.pool.close().await;
    env.cleanup().await
}
