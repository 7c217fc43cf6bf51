//! Routing of MQLs by the SLA worker, end to end: real broker, real PostgreSQL, the worker
//! deciding from the read models and appending `LeadRouted` to the log.
//!
//! One workload covers the rules (first match, partner, queue default), the rotation (spread
//! over eligible reps, weights from the reps' records in the read models), the roster (a
//! capped rep stops getting leads at the cap, an unavailable one gets none, a team whose
//! only rep is at cap keeps the lead in its queue), leads the CRM already handed off (not
//! routed), the fairness audit (`ownership_audit`), and a replay of the topic into a fresh
//! database (the same owners and the same audit rows, read from the log).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use leadledger_api::pb::{self, event::Payload};
use leadledger_e2e::events::{accepted, at, event, mql};
use leadledger_e2e::workload::log_event_ids;
use leadledger_e2e::{append, TestEnv};
use leadledger_sla::routing::rep_weight;
use leadledger_sla::{PolicySet, RepRecord};
use leadledger_store::Store;
use leadledger_workers::sla_worker::ManualClock;

const TENANT: &str = "acme";
const WAIT: Duration = Duration::from_secs(60);

const POLICIES: &str = r#"
version = 1

[routing]
default = { queue = "triage" }

[[routing.rule]]
id = "east-ka"
regions = ["华东"]
segments = ["KA"]
to = { team = "east-ka" }

[[routing.rule]]
id = "south-ka"
regions = ["华南"]
segments = ["ka"]
to = { team = "south" }

[[routing.rule]]
id = "finance-partner"
industries = ["finance"]
segments = ["SMB"]
to = { partner = "p-fin" }

[[routing.rule]]
id = "north"
regions = ["华北"]
to = { team = "north" }

[[routing.rep]]
id = "a1"
team = "east-ka"
cap = 3

[[routing.rep]]
id = "a2"
team = "east-ka"

[[routing.rep]]
id = "a3"
team = "east-ka"
available = false

[[routing.rep]]
id = "a4"
team = "east-ka"

[[routing.rep]]
id = "s1"
team = "south"

[[routing.rep]]
id = "s2"
team = "south"

[[routing.rep]]
id = "n1"
team = "north"
cap = 0
"#;

fn captured(
    lead: &str,
    when: DateTime<Utc>,
    region: &str,
    segment: pb::Segment,
    industry: &str,
) -> pb::Event {
    event(
        lead,
        "marketo",
        &format!("c-{lead}"),
        when,
        Payload::LeadCaptured(pb::LeadCaptured {
            contact: Some(pb::Contact {
                email: format!("x@{}.example.com", lead.to_lowercase()),
                ..Default::default()
            }),
            company: Some(pb::Company {
                name: format!("{lead} Co"),
                domain: format!("{}.example.com", lead.to_lowercase()),
                region: region.into(),
                industry: industry.into(),
                segment: segment as i32,
                employees: 100,
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

fn feedback(lead: &str, src: &str, when: DateTime<Utc>, stage: pb::Stage) -> pb::Event {
    let f = |s: &str| format!("{s} of {lead}");
    event(
        lead,
        "salesforce",
        src,
        when,
        Payload::FeedbackRecorded(pb::FeedbackRecorded {
            stage: stage as i32,
            rep_id: "s1".into(),
            business_situation: f("situation"),
            trigger: f("trigger"),
            timeline: f("timeline"),
            risks: f("risks"),
            competitors: f("competitors"),
            progress: f("progress"),
            commercial: f("commercial"),
        }),
    )
}

/// The workload: lead id → the owner routing should give it, roughly (`None`: no routing).
struct Workload {
    events: Vec<pb::Event>,
    routed: usize,
}

fn workload() -> Workload {
    let mut events = Vec::new();
    let mql_at = |i: usize| at(5, 4, 9) + chrono::Duration::minutes(i64::try_from(i).unwrap());
    let mut routed = 0;
    let mut add = |prefix: &str, n: usize, region: &str, seg: pb::Segment, industry: &str| {
        for i in 0..n {
            let lead = format!("{prefix}-{i:02}");
            events.push(captured(&lead, at(5, 1, 8), region, seg, industry));
            events.push(mql(&lead, &format!("m-{lead}"), mql_at(routed)));
            routed += 1;
        }
    };
    add("EAST", 30, "华东", pb::Segment::Ka, "retail");
    add("SOUTH", 20, "华南", pb::Segment::Ka, "retail");
    add("FIN", 5, "华东", pb::Segment::Smb, "finance");
    add("NORTH", 3, "华北", pb::Segment::Smb, "retail");
    add("WEST", 4, "西南", pb::Segment::Ka, "retail");
    // Handed off by the CRM before leadledger could route them, and leads never MQL'd.
    for i in 0..2 {
        let lead = format!("CRM-{i}");
        events.push(captured(
            &lead,
            at(5, 1, 8),
            "华东",
            pb::Segment::Ka,
            "retail",
        ));
        events.push(mql(&lead, &format!("m-{lead}"), at(5, 4, 9)));
        events.push(event(
            &lead,
            "salesforce",
            &format!("h-{lead}"),
            at(5, 4, 9) + chrono::Duration::minutes(1),
            Payload::HandedOff(pb::HandedOff {
                team: "crm-team".into(),
                rep_id: "c1".into(),
                ..Default::default()
            }),
        ));
        let fresh = format!("NEW-{i}");
        events.push(captured(
            &fresh,
            at(5, 1, 8),
            "华东",
            pb::Segment::Ka,
            "retail",
        ));
    }
    // s1's record: one lead followed up 2 h after MQL, full feedback, converted to SQL.
    let h = "HIST-1";
    let t0 = at(5, 1, 9);
    let hour = chrono::Duration::hours(1);
    events.push(captured(h, at(4, 30, 9), "华南", pb::Segment::Ka, "retail"));
    events.push(mql(h, "m-hist", t0));
    events.push(event(
        h,
        "salesforce",
        "h-hist",
        t0 + chrono::Duration::minutes(10),
        Payload::HandedOff(pb::HandedOff {
            team: "south".into(),
            rep_id: "s1".into(),
            ..Default::default()
        }),
    ));
    events.push(event(
        h,
        "salesforce",
        "f-hist",
        t0 + hour * 2,
        Payload::FollowUpLogged(pb::FollowUpLogged {
            activity_type: pb::ActivityType::Call as i32,
            rep_id: "s1".into(),
            note: "called".into(),
        }),
    ));
    events.push(feedback(h, "fb-mql", t0 + hour * 3, pb::Stage::Mql));
    events.push(accepted(h, "a-hist", t0 + hour * 4, "s1"));
    events.push(feedback(h, "fb-sql", t0 + hour * 5, pb::Stage::Sql));
    Workload { events, routed }
}

async fn count(store: &Store, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(&store.pool).await?)
}

async fn wait_count(store: &Store, sql: &str, want: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = count(store, sql).await?;
        if got == want {
            return Ok(());
        }
        anyhow::ensure!(got < want, "{sql}: {got}, more than {want}");
        anyhow::ensure!(
            Instant::now() < deadline,
            "{sql}: {got} of {want} in {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Owners of every lead, and every routing audit row with its weights, as text.
async fn owners_and_audit(store: &Store) -> anyhow::Result<Vec<String>> {
    let mut rows: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws('|', lead_id, owner_team, owner_queue, owner_rep_id, owner_partner_id, \
           owner_since) FROM leads ORDER BY tenant_id, lead_id",
    )
    .fetch_all(&store.pool)
    .await?;
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT a::text FROM ownership_audit a ORDER BY tenant_id, lead_id, event_id",
    )
    .fetch_all(&store.pool)
    .await?;
    rows.extend(audit);
    Ok(rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqls_are_routed_by_rule_and_weighted_rotation_and_replay_identically() -> anyhow::Result<()>
{
    let mut env = TestEnv::start(3).await?;
    let w = workload();
    let mut ingest = env.ingest().await?;
    for chunk in w.events.chunks(200) {
        append(&mut ingest, TENANT, chunk.to_vec()).await?;
    }
    env.wait_caught_up(WAIT).await?;

    // s1's record as the read models show it: the inputs of its weight.
    let (filled, required): (i32, i32) = sqlx::query_as(
        "SELECT feedback_filled, feedback_required FROM leads WHERE lead_id = 'HIST-1'",
    )
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(
        (filled, required),
        (10, 10),
        "3 MQL + 7 SQL fields owed and filled"
    );

    // Two hours after the MQLs: no clock is at risk yet, so the worker only routes.
    let clock = Arc::new(ManualClock::new(at(5, 4, 11)));
    let worker = env.start_sla_worker(PolicySet::from_toml(POLICIES)?, clock)?;
    let routed_sql = "SELECT count(*) FROM lead_events WHERE event_type = 'lead_routed'";
    wait_count(&env.store, routed_sql, i64::try_from(w.routed)?).await?;
    // A few more ticks: nothing is routed twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    worker.stop().await;
    env.wait_caught_up(WAIT).await?;
    assert_eq!(
        count(&env.store, routed_sql).await?,
        i64::try_from(w.routed)?
    );
    assert_eq!(
        count(
            &env.store,
            "SELECT count(*) FROM lead_events WHERE event_type LIKE 'sla_%'"
        )
        .await?,
        0,
        "no clock had crossed a threshold"
    );
    // Exactly once on the topic too.
    let ids = log_event_ids(&env.log.brokers, &env.log.topic, WAIT).await?;
    assert_eq!(ids.len(), w.events.len() + w.routed, "records on the topic");

    // Owners per lead group.
    let owners: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT lead_id, owner_team, owner_queue, owner_rep_id, owner_partner_id FROM leads \
         ORDER BY lead_id",
    )
    .fetch_all(&env.store.pool)
    .await?;
    let mut reps: BTreeMap<String, usize> = BTreeMap::new();
    for (lead, team, queue, rep, partner) in &owners {
        let group = lead.split('-').next().unwrap_or_default();
        let got = (team.as_str(), queue.as_str(), partner.as_str());
        match group {
            "EAST" => {
                assert_eq!(got, ("east-ka", "", ""), "{lead}");
                assert!(["a1", "a2", "a4"].contains(&rep.as_str()), "{lead}: {rep}");
            }
            "SOUTH" => {
                assert_eq!(got, ("south", "", ""), "{lead}");
                assert!(["s1", "s2"].contains(&rep.as_str()), "{lead}: {rep}");
            }
            "FIN" => assert_eq!((got, rep.as_str()), (("", "", "p-fin"), ""), "{lead}"),
            "NORTH" => assert_eq!((got, rep.as_str()), (("north", "", ""), ""), "{lead}"),
            "WEST" => assert_eq!((got, rep.as_str()), (("", "triage", ""), ""), "{lead}"),
            "CRM" => assert_eq!((got, rep.as_str()), (("crm-team", "", ""), "c1"), "{lead}"),
            "NEW" => assert_eq!((got, rep.as_str()), (("", "", ""), ""), "{lead}"),
            "HIST" => assert_eq!((got, rep.as_str()), (("south", "", ""), "s1"), "{lead}"),
            other => panic!("unexpected lead group {other}"),
        }
        if ["EAST", "SOUTH"].contains(&group) {
            *reps.entry(rep.clone()).or_default() += 1;
        }
    }
    println!("leads per rep: {reps:?}");
    let n = |r: &str| reps.get(r).copied().unwrap_or(0);
    assert!(n("a1") <= 3, "a1 is capped at 3 open leads: {reps:?}");
    assert_eq!(n("a3"), 0, "a3 is out of office");
    assert!(n("a2") >= 5 && n("a4") >= 5, "rotation spreads: {reps:?}");
    assert_eq!(n("a1") + n("a2") + n("a4"), 30);
    assert!(n("s1") > n("s2"), "s1's record weighs more: {reps:?}");
    assert_eq!(n("s1") + n("s2"), 20);

    // The audit: rule and weights per routing; the weights are the documented formula over
    // the reps' records in the read models (neutral for reps without history).
    let audit: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT lead_id, coalesce(rule_id, ''), coalesce(rep_id, ''), weights::text \
         FROM ownership_audit WHERE kind = 'routed' ORDER BY lead_id",
    )
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(audit.len(), w.routed);
    let neutral = weight(24.0, 0.5, 0.0);
    let s1 = weight(2.0, 1.0, 1.0);
    for (lead, rule, rep, weights) in &audit {
        let weights: Vec<(String, f64)> = parse_weights(weights.as_deref().unwrap_or("[]"));
        let group = lead.split('-').next().unwrap_or_default();
        let (want_rule, want_weights): (&str, Vec<(&str, f64)>) = match group {
            "EAST" => ("east-ka", vec![]),
            "SOUTH" => ("south-ka", vec![("s1", s1), ("s2", neutral)]),
            "FIN" => ("finance-partner", vec![]),
            "NORTH" => ("north", vec![]),
            "WEST" => ("", vec![]),
            other => panic!("{lead} of group {other} was routed"),
        };
        assert_eq!(rule, want_rule, "{lead}");
        if group == "EAST" {
            // a1 is in the rotation until it reaches its cap, then skipped; a3 never.
            let names: Vec<&str> = weights.iter().map(|(r, _)| r.as_str()).collect();
            assert!(
                names == ["a1", "a2", "a4"] || names == ["a2", "a4"],
                "{lead}: {names:?}"
            );
            assert!(
                weights.iter().all(|(_, x)| (x - neutral).abs() < 1e-9),
                "{lead}"
            );
            assert!(
                names.contains(&rep.as_str()),
                "{lead}: chosen {rep} among {names:?}"
            );
        } else {
            let got: Vec<(&str, f64)> = weights.iter().map(|(r, x)| (r.as_str(), *x)).collect();
            assert_eq!(got.len(), want_weights.len(), "{lead}: {got:?}");
            for ((r, x), (wr, wx)) in got.iter().zip(&want_weights) {
                assert_eq!(r, wr, "{lead}");
                assert!(
                    (x - wx).abs() < 1e-9,
                    "{lead}: {r} weighs {x}, expected {wx}"
                );
            }
        }
    }
    // Skipped reps and why, from the recorded decisions.
    let skipped: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT e.lead_id, s->>0, s->>1 FROM lead_events e, \
           jsonb_array_elements(e.body->'payload'->'LeadRouted'->'skipped') s \
         WHERE e.event_type = 'lead_routed'",
    )
    .fetch_all(&env.store.pool)
    .await?;
    let of = |prefix: &str, rep: &str, why: &str| {
        skipped
            .iter()
            .filter(|(l, r, w)| l.starts_with(prefix) && r == rep && w.starts_with(why))
            .count()
    };
    assert_eq!(of("EAST", "a3", "unavailable"), 30, "{skipped:?}");
    assert_eq!(
        of("EAST", "a1", "at cap: 3 open leads, cap 3"),
        30 - count_with_a1(&audit)
    );
    assert_eq!(of("NORTH", "n1", "at cap: 0 open leads, cap 0"), 3);

    // Replay the topic into a fresh database: the same owners and the same audit rows.
    let live = owners_and_audit(&env.store).await?;
    env.stop_projector().await?;
    let fresh = env.replay("routing-replay").await?;
    let replayed = owners_and_audit(&fresh).await?;
    assert!(live.len() > w.routed * 2, "{} rows", live.len());
    assert_eq!(live, replayed, "owners and audit rows after replay");
    fresh.pool.close().await;
    env.cleanup().await
}

/// Routings of east leads in which a1 was still eligible.
fn count_with_a1(audit: &[(String, String, String, Option<String>)]) -> usize {
    audit
        .iter()
        .filter(|(l, _, _, w)| {
            l.starts_with("EAST") && w.as_deref().unwrap_or("").contains("\"a1\"")
        })
        .count()
}

fn weight(hours: f64, completeness: f64, conversion: f64) -> f64 {
    rep_weight(&RepRecord {
        rep_id: String::new(),
        team: String::new(),
        follow_up_median_hours: hours,
        feedback_completeness: completeness,
        conversion_rate: conversion,
        open_leads: 0,
        cap: None,
        available: true,
    })
}

/// `[["s1", 1.38], ["s2", 0.125]]` → pairs (the JSON of `Routing.weights`).
fn parse_weights(text: &str) -> Vec<(String, f64)> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split("], [")
        .map(|p| p.trim_matches(|c| c == '[' || c == ']'))
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (name, w) = p.split_once(',').expect("a pair");
            (
                name.trim().trim_matches('"').to_string(),
                w.trim().parse().expect("a number"),
            )
        })
        .collect()
}
