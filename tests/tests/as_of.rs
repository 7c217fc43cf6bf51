//! As-of and as-known-on end to end (issue 17 item 6): every measure asked at a cut of the
//! log — `as_of` (business time) and `known_at` (record time) — answers exactly what the
//! read models answer after a re-projection of a log holding only the events that cut
//! admits.
//!
//! A simulated quarter (late facts and duplicates included) goes through ingest in chunks;
//! `known_at` is taken between two chunks, so facts delivered later — some about leads
//! captured long before — are not known then. For each cut, the admitted events are
//! produced, byte for byte and in log order, to a second environment's topic (its own
//! database, projector and credits worker); then `Funnel`, `Velocity`, `Cohorts`,
//! `Reasons`, `Roi` and `RepLeaderboard` of the first environment at the cut are compared
//! with the second's answers over its read models (the leaderboard through the store's SQL
//! path, `Roi` with the precomputed credits of the re-projection).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::attribution_service_client::AttributionServiceClient;
use leadledger_api::pb::sla_service_client::SlaServiceClient;
use leadledger_api::pb::{self, query_service_client::QueryServiceClient};
use leadledger_domain::Cut;
use leadledger_e2e::workload::{quarter_told_in_two, TENANT as T};
use leadledger_e2e::{close, TestEnv};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use tonic::transport::Channel;

const SEED: u64 = 61;
const LEADS: usize = 1200;
const PARTITIONS: i32 = 3;

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(time_to_proto(t))
}

/// Produces the events of `a` that `cut` admits to `b`'s topic, in `a`'s log order, keyed
/// by lead id as ingest keys them, and waits until `b` has projected them.
async fn reproject(a: &TestEnv, b: &TestEnv, cut: Cut) -> anyhow::Result<usize> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT lead_id, raw FROM lead_events WHERE tenant_id = $1 \
           AND ($2::timestamptz IS NULL OR occurred_at <= $2) \
           AND ($3::timestamptz IS NULL OR recorded_at <= $3) \
         ORDER BY log_partition, log_offset",
    )
    .bind(T)
    .bind(cut.as_of)
    .bind(cut.known_at)
    .fetch_all(&a.store.pool)
    .await?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &b.log.brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create()?;
    let sends: Vec<_> = rows
        .iter()
        .map(|(key, raw)| {
            producer.send(
                FutureRecord::to(&b.log.topic).key(key).payload(raw),
                Duration::from_secs(30),
            )
        })
        .collect();
    for s in futures::future::join_all(sends).await {
        s.map_err(|(e, _)| e)?;
    }
    b.wait_caught_up(Duration::from_secs(180)).await?;
    Ok(rows.len())
}

/// The measures of one environment: at `cut` when given, else over its read models.
struct Asked {
    funnel: Vec<pb::FunnelResponse>,
    velocity: pb::VelocityResponse,
    cohorts: pb::CohortsResponse,
    reasons: Vec<pb::ReasonsResponse>,
    roi: Vec<pb::RoiResponse>,
}

async fn ask(
    addr: std::net::SocketAddr,
    q: &mut QueryServiceClient<Channel>,
    cut: Option<Cut>,
    at: DateTime<Utc>,
    window: (DateTime<Utc>, DateTime<Utc>),
) -> anyhow::Result<Asked> {
    let (as_of, known_at) = cut.map_or((None, None), |c| {
        (c.as_of.and_then(ts), c.known_at.and_then(ts))
    });
    use pb::FunnelDimension as F;
    use pb::LeadDimension as L;
    let mut funnel = Vec::new();
    for (group_by, from, to) in [
        (vec![F::Channel, F::CaptureMonth], None, None),
        (vec![F::Segment], ts(window.0), ts(window.1)),
    ] {
        let r = pb::FunnelRequest {
            tenant_id: T.into(),
            group_by: group_by.into_iter().map(|d| d as i32).collect(),
            captured_from: from,
            captured_to: to,
            as_of,
            known_at,
            ..Default::default()
        };
        funnel.push(q.funnel(r).await?.into_inner());
    }
    let velocity = q
        .velocity(pb::VelocityRequest {
            tenant_id: T.into(),
            group_by: vec![L::Channel as i32, L::OwnerRep as i32],
            at: ts(at),
            stalled_limit: 1000,
            as_of,
            known_at,
            ..Default::default()
        })
        .await?
        .into_inner();
    let cohorts = q
        .cohorts(pb::CohortsRequest {
            tenant_id: T.into(),
            group_by: vec![L::Segment as i32],
            period: pb::CohortPeriod::Week as i32,
            at: ts(at),
            as_of,
            known_at,
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut reasons = Vec::new();
    for (group_by, reached) in [
        (vec![pb::ExitDimension::Channel, pb::ExitDimension::Rep], 0),
        (vec![pb::ExitDimension::ExitMonth], pb::Stage::Sql as i32),
    ] {
        let r = pb::ReasonsRequest {
            tenant_id: T.into(),
            group_by: group_by.into_iter().map(|d| d as i32).collect(),
            reached,
            list_limit: 1000,
            as_of,
            known_at,
            ..Default::default()
        };
        reasons.push(q.reasons(r).await?.into_inner());
    }
    // Whole UTC days, as `Roi` takes its period; revenue credited by a model the credits
    // worker precomputes (the re-projection reads its totals, the cut computes on request)
    // and by one it does not.
    let day = |t: DateTime<Utc>| t.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    let mut roi = Vec::new();
    for (group_by, model) in [
        (pb::GroupBy::Channel, "linear"),
        (pb::GroupBy::Campaign, "markov"),
    ] {
        let mut a = AttributionServiceClient::connect(format!("http://{addr}")).await?;
        let r = pb::RoiRequest {
            tenant_id: T.into(),
            group_by: group_by as i32,
            period_from: ts(day(window.0)),
            period_to: ts(day(window.1)),
            model: model.into(),
            currency: "CNY".into(),
            as_of,
            known_at,
            ..Default::default()
        };
        roi.push(a.roi(r).await?.into_inner());
    }
    Ok(Asked {
        funnel,
        velocity,
        cohorts,
        reasons,
        roi,
    })
}

/// `a`'s leaderboard at `cut` (clocks at `at`) equals `b`'s read models at `at`.
async fn same_leaderboard(
    a: &TestEnv,
    b: &TestEnv,
    cut: Cut,
    at: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut sla = SlaServiceClient::connect(format!("http://{}", a.addr)).await?;
    let got = sla
        .rep_leaderboard(pb::RepLeaderboardRequest {
            tenant_id: T.into(),
            as_of: ts(at),
            known_at: cut.known_at.and_then(ts),
            currency: "CNY".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let want =
        leadledger_store::reps::leaderboard(&b.store.pool, T, at, "mql-follow-up", "CNY").await?;
    assert_eq!(got.reps.len(), want.len(), "reps at {cut:?}");
    for (g, w) in got.reps.iter().zip(&want) {
        let what = format!("rep {} at {cut:?}", w.rep_id);
        assert_eq!(
            (
                &g.rep_id,
                &g.team,
                g.leads,
                g.sqls,
                g.signed,
                g.revenue_minor
            ),
            (
                &w.rep_id,
                &w.team,
                w.leads,
                w.sqls,
                w.signed,
                w.revenue_minor
            ),
            "{what}"
        );
        assert_eq!((g.clocks, g.met), (w.clocks, w.met), "{what}: clocks");
        assert!(
            close(g.median_follow_up_hours, w.median_hours),
            "{what}: median {:?} vs {:?}",
            g.median_follow_up_hours,
            w.median_hours
        );
        assert!(
            close(g.feedback_pct, w.feedback.map(|f| 100.0 * f)),
            "{what}: feedback"
        );
    }
    Ok(want.len())
}

/// The same `Roi` answer: counts, spend and turnover exactly; credited revenue to a minor
/// unit (the precomputed totals round each lead's credit, the on-request answer the
/// group's), the ratios accordingly.
fn same_roi(g: &pb::RoiResponse, w: &pb::RoiResponse, what: &str) {
    assert_eq!(g.groups.len(), w.groups.len(), "{what}: groups");
    assert_eq!(g.spend_minor, w.spend_minor, "{what}: spend");
    for (g, w) in g.groups.iter().zip(&w.groups) {
        let what = format!("{what}, {}", w.value);
        assert_eq!(
            (&g.value, g.spend_minor, g.leads, g.mql, g.sql, g.won),
            (&w.value, w.spend_minor, w.leads, w.mql, w.sql, w.won),
            "{what}"
        );
        assert_eq!(
            (g.cost_per_lead_minor, g.cost_per_sql_minor, g.cac_minor),
            (w.cost_per_lead_minor, w.cost_per_sql_minor, w.cac_minor),
            "{what}: costs"
        );
        assert_eq!(
            (g.turnover_p50_days, g.turnover_p90_days),
            (w.turnover_p50_days, w.turnover_p90_days),
            "{what}: turnover"
        );
        assert!(
            (g.revenue_minor - w.revenue_minor).abs() <= g.won.max(1),
            "{what}: revenue {} vs {}",
            g.revenue_minor,
            w.revenue_minor
        );
    }
}

fn assert_same(got: &Asked, want: &Asked, cut: &Cut) {
    for (i, (g, w)) in got.funnel.iter().zip(&want.funnel).enumerate() {
        assert_eq!(g, w, "funnel {i} at {cut:?}");
    }
    assert_eq!(got.velocity, want.velocity, "velocity at {cut:?}");
    assert_eq!(got.cohorts, want.cohorts, "cohorts at {cut:?}");
    for (i, (g, w)) in got.reasons.iter().zip(&want.reasons).enumerate() {
        assert_eq!(g, w, "reasons {i} at {cut:?}");
    }
    for (i, (g, w)) in got.roi.iter().zip(&want.roi).enumerate() {
        same_roi(g, w, &format!("roi {i} at {cut:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_measure_at_a_cut_equals_the_reprojection_of_the_cut_log() -> anyhow::Result<()> {
    let a = TestEnv::start(PARTITIONS).await?;
    let told = quarter_told_in_two(&a, SEED, LEADS).await?;
    let (occurred, known_at) = (told.occurred, Some(told.known_at));

    let mid = occurred[occurred.len() / 2];
    let late = occurred[occurred.len() * 3 / 4];
    let cuts = [
        Cut {
            as_of: Some(mid),
            known_at,
        },
        Cut {
            as_of: Some(late),
            known_at: None,
        },
        Cut {
            as_of: None,
            known_at,
        },
    ];
    let last = *occurred.last().expect("events");
    // Not a vacuous `known_at`: facts that had happened by `mid` were still to come.
    let untold: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM lead_events WHERE tenant_id = $1 AND occurred_at <= $2 \
           AND recorded_at > $3",
    )
    .bind(T)
    .bind(mid)
    .bind(known_at)
    .fetch_one(&a.store.pool)
    .await?;
    assert!(
        untold > 0,
        "every fact of before {mid} was known at {known_at:?}"
    );
    println!("{untold} facts of before {mid} were told after {known_at:?}");
    let first = occurred[0];
    let mut qa = a.query().await?;
    let live = ask(a.addr, &mut qa, None, late, (first, mid)).await?;
    for cut in cuts {
        // Stalls, curves and clocks are read at the cut's `as_of`, else after every fact.
        let at = cut.as_of.unwrap_or(last);
        let window = (first + TimeDelta::days(10), at);
        let b = TestEnv::start(PARTITIONS).await?;
        let events = reproject(&a, &b, cut).await?;
        b.wait_credits_caught_up(Duration::from_secs(180)).await?;
        let got = ask(a.addr, &mut qa, Some(cut), at, window).await?;
        let want = ask(b.addr, &mut b.query().await?, None, at, window).await?;
        assert_same(&got, &want, &cut);
        // Not a vacuous cut: the live funnel counts more.
        assert_ne!(
            got.funnel[0], live.funnel[0],
            "the cut {cut:?} changes nothing"
        );
        let reps = same_leaderboard(&a, &b, cut, at).await?;
        let exits: i64 = want.reasons[0]
            .groups
            .iter()
            .flat_map(|g| g.reasons.iter().map(|r| r.exits))
            .sum();
        println!(
            "cut {cut:?}: {events} events re-projected; {} funnel groups, {exits} exits, \
             {} stalled, {reps} reps, ROI {} channels (spend {}, revenue {} vs {}): equal",
            want.funnel[0].groups.len(),
            want.velocity.stalled.len(),
            want.roi[0].groups.len(),
            want.roi[0].spend_minor,
            got.roi[0].revenue_minor,
            want.roi[0].revenue_minor,
        );
        assert!(want.roi[0].spend_minor > 0 && want.roi[0].revenue_minor > 0);
        b.cleanup().await?;
    }
    a.cleanup().await
}
