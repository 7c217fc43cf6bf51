//! Escalation ladders end to end (docs/SLA.md, "Escalation"): the documented example policy
//! file, the projector storing each running clock's next step, and the real SLA worker —
//! killed between steps — taking every step once, in order, at its instant: telling the
//! roster's people, moving a late lead to the next rep of its rotation or back to the pool,
//! and leaving alone a lead someone re-assigned after the step's instant. The topic replays
//! to the same rows.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use leadledger_api::pb::sla_service_client::SlaServiceClient;
use leadledger_api::pb::{self, event::Payload as P};
use leadledger_domain::ids;
use leadledger_e2e::events::{accepted, event, mql};
use leadledger_e2e::workload::log_event_ids;
use leadledger_e2e::{append, assert_same_rows, dump_read_models, TestEnv};
use leadledger_sla::{PolicySet, TenantPolicies};
use leadledger_workers::sla_worker::ManualClock;
use uuid::Uuid;

const T: &str = "acme";
const POLICIES: &str = include_str!("../../docs/examples/policies-escalation.toml");
const WAIT: Duration = Duration::from_secs(60);

/// A Shanghai wall-clock instant (UTC+8, no daylight saving) in March 2026; Monday 2 March
/// is the MQL day.
fn sh(day: u32, h: u32, mi: u32) -> DateTime<Utc> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 3, day, h, mi, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn captured(lead: &str, region: &str, segment: pb::Segment) -> pb::Event {
    event(
        lead,
        "marketo",
        &format!("{lead}-c"),
        sh(2, 9, 30),
        P::LeadCaptured(pb::LeadCaptured {
            contact: Some(pb::Contact {
                email: format!("buyer@{lead}.example.com"),
                ..Default::default()
            }),
            company: Some(pb::Company {
                name: format!("{lead} Co"),
                region: region.into(),
                segment: segment as i32,
                ..Default::default()
            }),
            source: Some(pb::LeadSource {
                channel: "webinar".into(),
                ..Default::default()
            }),
            sealed_contact: None,
        }),
    )
}

fn handed(lead: &str, src: &str, when: DateTime<Utc>, team: &str, rep: &str) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        when,
        P::HandedOff(pb::HandedOff {
            team: team.into(),
            rep_id: rep.into(),
            ..Default::default()
        }),
    )
}

fn follow_up(lead: &str, when: DateTime<Utc>) -> pb::Event {
    event(
        lead,
        "salesforce",
        &format!("{lead}-f"),
        when,
        P::FollowUpLogged(pb::FollowUpLogged {
            activity_type: pb::ActivityType::Call as i32,
            rep_id: "wang.fang".into(),
            note: "called".into(),
        }),
    )
}

/// One escalation as the timeline holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    policy: String,
    step: String,
    at: DateTime<Utc>,
    notify: Vec<String>,
    unresolved: Vec<String>,
    /// The owner it moved the lead to, as "team/rep".
    moved_to: Option<String>,
}

async fn steps(env: &TestEnv, lead: &str) -> anyhow::Result<Vec<Step>> {
    type Row = (
        String,
        String,
        DateTime<Utc>,
        serde_json::Value,
        serde_json::Value,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT x->>'policy_id', x->>'step_id', occurred_at, x->'notify', x->'unresolved', \
           CASE WHEN x->'reassignment' <> 'null' THEN (x->'reassignment'->'to'->>'team') || '/' \
             || (x->'reassignment'->'to'->>'rep_id') END \
         FROM lead_events, LATERAL (SELECT body->'payload'->'SlaEscalated' AS x) p \
         WHERE tenant_id = $1 AND lead_id = $2 AND event_type = 'sla_escalated' \
         ORDER BY occurred_at, x->>'policy_id'",
    )
    .bind(T)
    .bind(lead)
    .fetch_all(&env.store.pool)
    .await?;
    let strings =
        |v: serde_json::Value| -> Vec<String> { serde_json::from_value(v).unwrap_or_default() };
    Ok(rows
        .into_iter()
        .map(|r| Step {
            policy: r.0,
            step: r.1,
            at: r.2,
            notify: strings(r.3),
            unresolved: strings(r.4),
            moved_to: r.5,
        })
        .collect())
}

async fn wait_steps(env: &TestEnv, want: &[(&str, usize)]) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut short = Vec::new();
        for (lead, n) in want {
            let got = steps(env, lead).await?.len();
            if got < *n {
                short.push(format!("{lead}: {got} of {n}"));
            }
        }
        if short.is_empty() {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "escalations missing: {short:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn owner(env: &TestEnv, lead: &str) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar(
        "SELECT owner_team || '/' || owner_rep_id FROM leads WHERE tenant_id = $1 AND lead_id = $2",
    )
    .bind(T)
    .bind(lead)
    .fetch_one(&env.store.pool)
    .await?)
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_is_taken_once_in_order_across_worker_kills_and_replays_the_same(
) -> anyhow::Result<()> {
    let mut env = TestEnv::start(2).await?;
    let set = PolicySet::from_toml(POLICIES)?;
    env.stop_projector().await?;
    env.derive = Arc::new(leadledger_projection::Derivations {
        sla: TenantPolicies::single(set.clone()),
    });
    env.start_projector();
    let mut ingest = env.ingest().await?;
    // MQLs on Monday 2 March, 10:00 Shanghai. mql-follow-up (24 working hours): at risk
    // Wednesday 11:12, due Wednesday 16:00, reassigned 8 working hours later, Thursday 15:00.
    // mql-stale: 14 elapsed days, Monday 16 March 10:00.
    let mut events = Vec::new();
    for (lead, region, segment, team, rep) in [
        ("late", "华东", pb::Segment::Ka, "east-ka", "wang.fang"),
        ("met", "华东", pb::Segment::Ka, "east-ka", "wang.fang"),
        ("moved", "华东", pb::Segment::Ka, "east-ka", "wang.fang"),
        (
            "inside",
            "华北",
            pb::Segment::Smb,
            "inside-sales",
            "zhao.lei",
        ),
    ] {
        events.push(captured(lead, region, segment));
        events.push(mql(lead, &format!("{lead}-m"), sh(2, 10, 0)));
        events.push(handed(lead, &format!("{lead}-h"), sh(2, 10, 5), team, rep));
    }
    events.push(follow_up("met", sh(3, 10, 0)));
    events.push(accepted("met", "met-a", sh(3, 11, 0), "wang.fang"));
    append(&mut ingest, T, events).await?;
    env.wait_caught_up(WAIT).await?;

    let next: (Option<String>, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT escalation_step, escalation_at FROM sla_clocks \
         WHERE tenant_id = $1 AND lead_id = 'late' AND policy_id = 'mql-follow-up'",
    )
    .bind(T)
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(next, (Some("warn".into()), Some(sh(4, 11, 12))));

    // Wednesday 11:30: the early warnings. Then the worker is killed.
    let clock = Arc::new(ManualClock::new(sh(4, 11, 30)));
    let worker = env.start_sla_worker(set.clone(), clock.clone())?;
    wait_steps(&env, &[("late", 1), ("moved", 1), ("inside", 1)]).await?;
    worker.abort().await;
    assert_eq!(
        steps(&env, "late").await?,
        [Step {
            policy: "mql-follow-up".into(),
            step: "warn".into(),
            at: sh(4, 11, 12),
            notify: s(&["owner:wang.fang", "manager:li.lei"]),
            unresolved: vec![],
            moved_to: None,
        }]
    );
    assert_eq!(
        steps(&env, "inside").await?[0].unresolved,
        s(&["manager: rep `zhao.lei` has no manager on the roster"])
    );

    // Wednesday 16:30, a new worker: the breach steps (the alerts too), then killed again.
    clock.set(sh(4, 16, 30));
    let worker = env.start_sla_worker(set.clone(), clock.clone())?;
    wait_steps(&env, &[("late", 2), ("moved", 2), ("inside", 2)]).await?;
    worker.abort().await;
    assert_eq!(
        steps(&env, "late").await?[1].notify,
        s(&[
            "owner:wang.fang",
            "manager:li.lei",
            "team_lead:zhao.min",
            "sales-ops"
        ])
    );

    // A manager gives "moved" to chen.jie on Thursday 15:30, after its reassign instant
    // (15:00), before the worker gets to that step.
    append(
        &mut ingest,
        T,
        vec![handed(
            "moved",
            "moved-h2",
            sh(5, 15, 30),
            "east-ka",
            "chen.jie",
        )],
    )
    .await?;
    env.wait_caught_up(WAIT).await?;

    // Thursday 16:00: the reassignments.
    clock.set(sh(5, 16, 0));
    let worker = env.start_sla_worker(set.clone(), clock.clone())?;
    wait_steps(&env, &[("late", 3), ("moved", 3), ("inside", 3)]).await?;
    env.wait_caught_up(WAIT).await?;
    let late = steps(&env, "late").await?;
    assert_eq!(
        (
            late[2].step.as_str(),
            late[2].at,
            late[2].moved_to.as_deref()
        ),
        ("reassign", sh(5, 15, 0), Some("east-ka/chen.jie")),
        "the only other rep of the rotation"
    );
    assert_eq!(late[2].notify, s(&["team_lead:zhao.min"]));
    assert_eq!(owner(&env, "late").await?, "east-ka/chen.jie");
    let moved = steps(&env, "moved").await?;
    assert_eq!(moved[2].moved_to, None);
    assert_eq!(
        moved[2].unresolved,
        s(&["reassign: the lead changed owner at 2026-03-05T07:30:00Z, after the step's instant"])
    );
    assert_eq!(owner(&env, "moved").await?, "east-ka/chen.jie");
    // Its only rep left out, the inside-sales rotation has nobody: the team's pool.
    assert_eq!(
        steps(&env, "inside").await?[2].moved_to.as_deref(),
        Some("inside-sales/")
    );
    assert_eq!(owner(&env, "inside").await?, "inside-sales/");

    // Tuesday 17 March: the stale MQLs go back to the pool.
    clock.set(sh(17, 10, 0));
    wait_steps(&env, &[("late", 4), ("moved", 4), ("inside", 4)]).await?;
    // A few more ticks take nothing more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    worker.stop().await;
    env.wait_caught_up(WAIT).await?;
    for lead in ["late", "moved"] {
        let got = steps(&env, lead).await?;
        assert_eq!(got.len(), 4, "{lead}: {got:#?}");
        assert_eq!(
            (
                got[3].policy.as_str(),
                got[3].at,
                got[3].moved_to.as_deref()
            ),
            ("mql-stale", sh(16, 10, 0), Some("east-ka/")),
            "{lead}"
        );
        assert_eq!(owner(&env, lead).await?, "east-ka/");
    }
    let inside = steps(&env, "inside").await?;
    assert_eq!(inside.len(), 4);
    assert_eq!(
        inside[3].unresolved,
        s(&[
            "team_lead: team `inside-sales` has no lead on the roster",
            "reassign: the lead is in the pool already"
        ])
    );
    assert_eq!(steps(&env, "met").await?, []);
    // Nothing left to take: every running clock has taken its last step.
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sla_clocks WHERE tenant_id = $1 AND escalation_step IS NOT NULL",
    )
    .bind(T)
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(left, 0);

    // The topic from offset 0: each step's derived id exactly once.
    let records = log_event_ids(&env.log.brokers, &env.log.topic, WAIT).await?;
    let mut seen: BTreeMap<Uuid, usize> = BTreeMap::new();
    for id in records.values() {
        *seen.entry(Uuid::parse_str(id)?).or_default() += 1;
    }
    let start_ids: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT lead_id, start_event_id FROM sla_clocks WHERE tenant_id = $1 \
         AND policy_id = 'mql-follow-up' AND lead_id <> 'met'",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(start_ids.len(), 3);
    for (lead, start) in &start_ids {
        for step in ["warn", "breached", "reassign"] {
            let id = ids::escalation_id(*start, "mql-follow-up", step);
            assert_eq!(seen.get(&id), Some(&1), "{lead} {step}");
        }
        let id = ids::escalation_id(*start, "mql-stale", "back-to-pool");
        assert_eq!(seen.get(&id), Some(&1), "{lead} back-to-pool");
    }
    assert!(seen.values().all(|n| *n == 1), "an id on the topic twice");

    // WatchSla: the steps with `include_escalations`, each with its step and recipients, in
    // the same log order as the alerts; without it, alerts only.
    let mut sla = SlaServiceClient::connect(format!("http://{}", env.addr)).await?;
    let watched = |include_escalations| pb::WatchSlaRequest {
        tenant_id: T.into(),
        include_escalations,
        ..Default::default()
    };
    let mut stream = sla.watch_sla(watched(true)).await?.into_inner();
    let mut kinds: BTreeMap<i32, usize> = BTreeMap::new();
    let mut reassigned = Vec::new();
    while kinds.get(&(pb::SlaAlertKind::Escalated as i32)) < Some(&12) {
        let m = tokio::time::timeout(WAIT, stream.message())
            .await??
            .expect("the stream stays open");
        *kinds.entry(m.kind).or_default() += 1;
        if m.kind == pb::SlaAlertKind::Escalated as i32 {
            let x = m.escalation.expect("a step carries its escalation");
            assert_eq!(m.alert.as_ref().map(|a| &a.policy_id), Some(&x.policy_id));
            if let Some(r) = x.reassignment {
                reassigned.push((m.lead_id, x.step_id, r.to.unwrap_or_default().rep_id));
            }
        } else {
            assert!(m.escalation.is_none());
        }
    }
    reassigned.sort();
    assert_eq!(
        reassigned,
        [
            ("inside".to_string(), "reassign".to_string(), String::new()),
            ("late".into(), "back-to-pool".into(), String::new()),
            ("late".into(), "reassign".into(), "chen.jie".into()),
            ("moved".into(), "back-to-pool".into(), String::new()),
        ]
    );
    drop(stream);
    let mut stream = sla.watch_sla(watched(false)).await?.into_inner();
    let mut alerts = 0;
    while alerts < kinds.values().sum::<usize>() - 12 {
        let m = tokio::time::timeout(WAIT, stream.message())
            .await??
            .expect("the stream stays open");
        assert_ne!(m.kind, pb::SlaAlertKind::Escalated as i32);
        alerts += 1;
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(500), stream.message())
            .await
            .is_err(),
        "more than the alerts streamed without include_escalations"
    );
    drop(stream);

    // Replay from offset 0 gives the same rows: owners moved by the steps included.
    let live = dump_read_models(&env.store).await?;
    let replayed = env.replay("escalation-replay").await?;
    assert_same_rows(&dump_read_models(&replayed).await?, &live, "replay");
    env.cleanup().await
}
