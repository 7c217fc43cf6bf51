//! Paused clocks end to end (docs/SLA.md, "Paused clocks"): `ClockPaused` / `ClockResumed`
//! through `Append`, the projector's `sla_clocks` rows, and the real SLA worker, which alerts
//! a resumed clock at its moved due time and never alerts a paused one.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadledger_api::pb::{self, event::Payload as P};
use leadledger_e2e::events::{at, captured, event, mql};
use leadledger_e2e::{append, assert_same_rows, dump_read_models, violation_fields, TestEnv};
use leadledger_sla::PolicySet;
use leadledger_workers::sla_worker::ManualClock;

const T: &str = "acme";

fn pause(lead: &str, src: &str, when: DateTime<Utc>, policy_ids: &[&str]) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        when,
        P::ClockPaused(pb::ClockPaused {
            reason: pb::PauseReason::CustomerHoliday as i32,
            policy_ids: policy_ids.iter().map(|s| s.to_string()).collect(),
            by: "ann".into(),
            ..Default::default()
        }),
    )
}

fn resume(lead: &str, src: &str, when: DateTime<Utc>) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        when,
        P::ClockResumed(pb::ClockResumed::default()),
    )
}

/// The follow-up clock of `lead`: status, due, paused since, pauses (as text).
async fn follow_up_row(
    env: &TestEnv,
    lead: &str,
) -> anyhow::Result<(String, DateTime<Utc>, Option<DateTime<Utc>>, Option<String>)> {
    Ok(sqlx::query_as(
        "SELECT status, due_at, paused_at, pauses::text FROM sla_clocks \
         WHERE tenant_id = $1 AND lead_id = $2 AND policy_id = 'mql-follow-up'",
    )
    .bind(T)
    .bind(lead)
    .fetch_one(&env.store.pool)
    .await?)
}

/// The SLA alerts in `lead`'s timeline: (type, policy, occurred_at).
async fn alerts(env: &TestEnv, lead: &str) -> anyhow::Result<Vec<(String, String, DateTime<Utc>)>> {
    Ok(sqlx::query_as(
        "SELECT event_type, body->'payload'->(CASE event_type WHEN 'sla_at_risk' THEN 'SlaAtRisk' \
           ELSE 'SlaBreached' END)->>'policy_id', occurred_at \
         FROM lead_events WHERE tenant_id = $1 AND lead_id = $2 \
           AND event_type IN ('sla_at_risk', 'sla_breached') ORDER BY occurred_at, event_type",
    )
    .bind(T)
    .bind(lead)
    .fetch_all(&env.store.pool)
    .await?)
}

/// Waits until `lead` has `n` alerts.
async fn wait_alerts(env: &TestEnv, lead: &str, n: usize) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if alerts(env, lead).await?.len() >= n {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{lead}: fewer than {n} alerts: {:?}",
            alerts(env, lead).await?
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_clock_is_not_alerted_and_a_resumed_one_is_alerted_at_its_moved_due_time(
) -> anyhow::Result<()> {
    let mut env = TestEnv::start(1).await?;
    let mut ingest = env.ingest().await?;
    // Monday 2 March 2026, 10:00 UTC (the default calendar: UTC, Monday–Friday 09–18): 24
    // business hours end on Wednesday 4 March at 16:00.
    let mut events = Vec::new();
    for lead in ["paused-a-day", "control", "paused-for-good", "paused-later"] {
        events.push(captured(lead, &format!("{lead}-c"), at(3, 2, 9), "webinar"));
        events.push(mql(lead, &format!("{lead}-m"), at(3, 2, 10)));
    }
    // Tuesday is paused: the due time moves by its 9 working hours, to Thursday 16:00.
    events.push(pause("paused-a-day", "p1", at(3, 3, 9), &[]));
    events.push(resume("paused-a-day", "r1", at(3, 4, 9)));
    // Paused from Wednesday 12:00, after its at-risk point (Wednesday 11:12).
    events.push(pause("paused-later", "p3", at(3, 4, 12), &[]));
    // Paused from Tuesday on, the follow-up clock only.
    events.push(pause(
        "paused-for-good",
        "p2",
        at(3, 3, 9),
        &["mql-follow-up"],
    ));
    append(&mut ingest, T, events).await?;
    env.wait_caught_up(Duration::from_secs(30)).await?;

    let (status, due, paused_at, pauses) = follow_up_row(&env, "paused-a-day").await?;
    assert_eq!(status, "running");
    assert_eq!(due, at(3, 5, 16), "due moved by Tuesday's working hours");
    assert_eq!(paused_at, None);
    let pauses = pauses.expect("the ended pause is stored");
    assert!(
        pauses.contains("2026-03-03 09:00:00+00") && pauses.contains("2026-03-04 09:00:00+00"),
        "{pauses}"
    );
    let (status, due, paused_at, _) = follow_up_row(&env, "paused-for-good").await?;
    assert_eq!(
        (status.as_str(), due, paused_at),
        ("paused", at(3, 4, 16), Some(at(3, 3, 9))),
        "paused with the due time it had"
    );
    assert_eq!(follow_up_row(&env, "control").await?.1, at(3, 4, 16));

    // Wednesday 11:30: at risk, also the clock whose pause (stored already) begins at noon.
    let risk = at(3, 4, 11) + chrono::Duration::minutes(12);
    let clock = Arc::new(ManualClock::new(risk + chrono::Duration::minutes(18)));
    let worker = env.start_sla_worker(PolicySet::defaults(), clock.clone())?;
    wait_alerts(&env, "paused-later", 1).await?;
    wait_alerts(&env, "control", 1).await?;
    let at_risk = ("sla_at_risk".to_string(), "mql-follow-up".to_string(), risk);
    assert_eq!(
        alerts(&env, "paused-later").await?,
        std::slice::from_ref(&at_risk)
    );
    // Thursday 10:00: the control is past due; the lead paused on Tuesday is not yet, nor
    // the one paused since Wednesday noon.
    clock.set(at(3, 5, 10));
    wait_alerts(&env, "control", 2).await?;
    assert_eq!(
        alerts(&env, "control").await?,
        [
            at_risk,
            (
                "sla_breached".to_string(),
                "mql-follow-up".to_string(),
                at(3, 4, 16)
            )
        ]
    );
    // At risk at 80 % of 24 h after the start, less Tuesday: Thursday 11:12; due at 16:00.
    clock.set(at(3, 5, 12));
    wait_alerts(&env, "paused-a-day", 1).await?;
    clock.set(at(3, 5, 17));
    wait_alerts(&env, "paused-a-day", 2).await?;
    let got = alerts(&env, "paused-a-day").await?;
    let follow_up: Vec<_> = got.iter().filter(|a| a.1 == "mql-follow-up").collect();
    assert_eq!(
        follow_up,
        [
            &(
                "sla_at_risk".to_string(),
                "mql-follow-up".to_string(),
                at(3, 5, 11) + chrono::Duration::minutes(12)
            ),
            &(
                "sla_breached".to_string(),
                "mql-follow-up".to_string(),
                at(3, 5, 16)
            ),
        ],
        "{got:?}"
    );
    // The worker alerts the oldest thresholds first: the clock paused for good would have
    // breached on Wednesday, before the alerts above. It has none.
    worker.stop().await;
    assert_eq!(alerts(&env, "paused-for-good").await?, []);
    assert_eq!(alerts(&env, "paused-later").await?.len(), 1);
    // Its accept/reject clock (not named by the pause) runs like the control's.
    let accept: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT lead_id, status, due_at FROM sla_clocks WHERE tenant_id = $1 \
         AND policy_id = 'mql-accept-reject' ORDER BY lead_id",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(
        accept,
        [
            ("control".to_string(), "running".to_string(), at(3, 9, 13)),
            (
                "paused-a-day".to_string(),
                "running".to_string(),
                at(3, 10, 13)
            ),
            (
                "paused-for-good".to_string(),
                "running".to_string(),
                at(3, 9, 13)
            ),
            // Every policy paused: shown with the due time it had when the pause began.
            (
                "paused-later".to_string(),
                "paused".to_string(),
                at(3, 9, 13)
            ),
        ]
    );
    // Replay from offset 0 (facts and alerts) gives the same rows, pauses included.
    env.wait_caught_up(Duration::from_secs(30)).await?;
    let live = dump_read_models(&env.store).await?;
    assert!(
        live.iter().any(|r| r.contains("paused")),
        "no paused clock dumped"
    );
    let replayed = env.replay("pause-replay").await?;
    assert_same_rows(&dump_read_models(&replayed).await?, &live, "replay");
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_without_a_reason_or_with_a_bad_policy_is_refused() -> anyhow::Result<()> {
    let env = TestEnv::start(1).await?;
    let mut ingest = env.ingest().await?;
    let mut bad = pause(
        "l1",
        "p1",
        at(3, 3, 9),
        &["mql-follow-up", "no spaces", "mql-follow-up"],
    );
    if let Some(P::ClockPaused(p)) = bad.payload.as_mut() {
        p.reason = pb::PauseReason::Unspecified as i32;
    }
    let mut other = pause("l1", "p2", at(3, 3, 9), &[]);
    if let Some(P::ClockPaused(p)) = other.payload.as_mut() {
        p.reason = pb::PauseReason::Other as i32;
    }
    let mut unknown = pause("l1", "p3", at(3, 3, 9), &[]);
    if let Some(P::ClockPaused(p)) = unknown.payload.as_mut() {
        p.reason = 99;
    }
    let err = append(&mut ingest, T, vec![bad, other, unknown])
        .await
        .expect_err("refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        violation_fields(&err),
        [
            "events[0].payload.clock_paused.reason",
            "events[0].payload.clock_paused.policy_ids[1]",
            "events[0].payload.clock_paused.policy_ids[2]",
            "events[1].payload.clock_paused.note",
            "events[2].payload.clock_paused.reason",
        ]
    );
    env.cleanup().await
}
