//! Spend and ROI end to end (issue 17 item 4): a simulated quarter with finance's monthly
//! spend statements (one restated), plus crafted statements — a restatement that replaces
//! an earlier one, the earlier one sent again afterwards (a duplicate, which must not bring
//! it back), a campaign's spend over part of the period, spend in another currency — through
//! ingest. `Roi` per channel is then compared with an independent computation: spend from
//! the statements the test sent, prorated by days; leads, MQLs, SQLs and won deals replayed
//! from each lead's timeline; revenue as `Attribution` credits it; the capture → signed
//! turnover as nearest-rank percentiles of the replayed leads. The spend rows equal a replay
//! of the log into a fresh database.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use leadledger_api::convert::{time_from_proto, time_to_proto};
use leadledger_api::pb::{self, event::Payload as P};
use leadledger_e2e::events::{at, event};
use leadledger_e2e::workload::{every_lead, quarter, TENANT as T};
use leadledger_e2e::{append, assert_same_rows, TestEnv};

const SEED: u64 = 17;
const LEADS: usize = 1500;

fn statement(src: &str, when: DateTime<Utc>, s: pb::SpendRecorded) -> pb::Event {
    let mut e = event("", "kingdee", src, when, P::SpendRecorded(s));
    e.lead_id.clear();
    e
}

fn spend(channel: &str, campaign: &str, start: &str, end: &str, amount: i64) -> pb::SpendRecorded {
    pb::SpendRecorded {
        channel: channel.into(),
        campaign: campaign.into(),
        period_start: start.into(),
        period_end: end.into(),
        amount_minor: amount,
        currency: "CNY".into(),
    }
}

/// One lead as the replay sees it.
#[derive(Debug, Default)]
struct Lead {
    channel: String,
    captured_at: Option<DateTime<Utc>>,
    rank: u8,
    /// The latest contract's currency, and the first signature.
    currency: Option<String>,
    signed_at: Option<DateTime<Utc>>,
}

fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roi_equals_an_independent_computation_and_spend_replays() -> anyhow::Result<()> {
    let mut env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    // April's crafted spend, stated, then restated (replacing it), then the first statement
    // again (a duplicate: the restatement stays). Separate calls, so each is recorded later.
    let april = |amount| spend("crafted", "", "2026-04-01", "2026-04-30", amount);
    append(
        &mut ingest,
        T,
        vec![statement("c-apr", at(5, 3, 9), april(30_000))],
    )
    .await?;
    append(
        &mut ingest,
        T,
        vec![statement("c-apr-r", at(5, 10, 9), april(45_000))],
    )
    .await?;
    append(
        &mut ingest,
        T,
        vec![statement("c-apr", at(5, 3, 9), april(30_000))],
    )
    .await?;
    append(
        &mut ingest,
        T,
        vec![
            // A campaign's spend, half of it inside the period asked below (June 16–July 15).
            statement(
                "c-summer",
                at(7, 20, 9),
                spend("crafted", "summer", "2026-06-16", "2026-07-15", 60_000),
            ),
            // Another currency: left out of a CNY answer.
            statement(
                "c-usd",
                at(6, 2, 9),
                pb::SpendRecorded {
                    currency: "USD".into(),
                    ..spend("crafted", "", "2026-05-01", "2026-05-31", 999)
                },
            ),
        ],
    )
    .await?;
    let token = quarter(&env, SEED, LEADS, Vec::new()).await?;
    env.wait_credits_caught_up(std::time::Duration::from_secs(120))
        .await?;

    let sim = leadledger_sim::generate(&leadledger_sim::SimConfig {
        seed: SEED,
        leads: LEADS,
        tenant: T.into(),
        ..Default::default()
    });
    let (from, to) = (
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap(),
    );
    let mut want_spend = sim.expected.spend_by_channel.clone();
    // April's restatement whole; the summer campaign's 15 of 30 days.
    *want_spend.entry("crafted".into()).or_default() += 45_000 + 30_000;

    // The leads, replayed.
    let mut q = env.query().await?;
    let mut leads = Vec::new();
    for got in every_lead(&mut q).await? {
        let mut l = Lead::default();
        for entry in &got.timeline {
            let e = entry.event.as_ref().expect("a known event");
            let when = e.occurred_at.as_ref().and_then(time_from_proto).unwrap();
            let rank = match e.payload.as_ref().expect("a payload") {
                P::LeadCaptured(c) => {
                    if l.captured_at.is_none() {
                        l.captured_at = Some(when);
                        l.channel = c.source.clone().unwrap_or_default().channel;
                    }
                    1
                }
                P::MqlQualified(_) => 2,
                P::SalesAccepted(_) => 3,
                P::PocStarted(_) => 4,
                P::Signed(s) => {
                    l.currency = Some(s.currency.clone());
                    l.signed_at.get_or_insert(when);
                    5
                }
                _ => 0,
            };
            l.rank = l.rank.max(rank);
        }
        leads.push(l);
    }

    let roi = leadledger_api::pb::attribution_service_client::AttributionServiceClient::connect(
        format!("http://{}", env.addr),
    )
    .await?
    .roi(pb::RoiRequest {
        tenant_id: T.into(),
        period_from: Some(time_to_proto(from)),
        period_to: Some(time_to_proto(to)),
        consistency_token: token.clone(),
        ..Default::default()
    })
    .await?
    .into_inner();
    assert_eq!(
        (roi.model.as_str(), roi.currency.as_str()),
        ("linear", "CNY")
    );
    let attribution =
        leadledger_api::pb::attribution_service_client::AttributionServiceClient::connect(format!(
            "http://{}",
            env.addr
        ))
        .await?
        .attribution(pb::AttributionRequest {
            tenant_id: T.into(),
            model: "linear".into(),
            conversion: pb::ConversionKind::Revenue as i32,
            period_basis: pb::PeriodBasis::Captured as i32,
            period_from: Some(time_to_proto(from)),
            period_to: Some(time_to_proto(to)),
            ..Default::default()
        })
        .await?
        .into_inner();
    let revenue: BTreeMap<String, i64> = attribution
        .groups
        .iter()
        .map(|g| (g.value.clone(), g.credit))
        .collect();

    let mut checked = 0;
    for g in &roi.groups {
        let mine: Vec<&Lead> = leads
            .iter()
            .filter(|l| l.channel == g.value && l.captured_at.is_some_and(|t| t >= from && t < to))
            .collect();
        let count = |rank: u8| mine.iter().filter(|l| l.rank >= rank).count() as i64;
        let won: Vec<&&Lead> = mine
            .iter()
            .filter(|l| l.rank >= 5 && l.currency.as_deref() == Some("CNY"))
            .collect();
        assert_eq!(
            (g.spend_minor, g.leads, g.mql, g.sql, g.won),
            (
                want_spend.get(&g.value).copied().unwrap_or(0),
                count(1),
                count(2),
                count(3),
                won.len() as i64
            ),
            "{}",
            g.value
        );
        assert_eq!(g.revenue_minor, revenue.get(&g.value).copied().unwrap_or(0));
        let per = |n: i64| (n > 0).then(|| g.spend_minor as f64 / n as f64);
        assert_eq!(g.cost_per_lead_minor, per(g.leads));
        assert_eq!(g.cost_per_mql_minor, per(g.mql));
        assert_eq!(g.cost_per_sql_minor, per(g.sql));
        assert_eq!(g.cac_minor, per(g.won));
        if g.spend_minor > 0 {
            let s = g.spend_minor as f64;
            assert_eq!(g.roi, Some((g.revenue_minor as f64 - s) / s));
            assert_eq!(g.roas, Some(g.revenue_minor as f64 / s));
        } else {
            assert_eq!((g.roi, g.roas), (None, None));
        }
        let mut days: Vec<f64> = won
            .iter()
            .map(|l| {
                (l.signed_at.unwrap() - l.captured_at.unwrap()).num_seconds() as f64 / 86_400.0
            })
            .collect();
        days.sort_by(f64::total_cmp);
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-6);
        if days.is_empty() {
            assert_eq!((g.turnover_p50_days, g.turnover_p90_days), (None, None));
        } else {
            assert!(
                close(g.turnover_p50_days, nearest_rank(&days, 0.5)),
                "{g:?}"
            );
            assert!(
                close(g.turnover_p90_days, nearest_rank(&days, 0.9)),
                "{g:?}"
            );
            checked += 1;
        }
    }
    // Every channel that spent or brought leads is there, largest spend first.
    let values: Vec<&str> = roi.groups.iter().map(|g| g.value.as_str()).collect();
    for ch in want_spend.keys() {
        assert!(
            values.contains(&ch.as_str()),
            "{ch} missing from {values:?}"
        );
    }
    assert!(roi
        .groups
        .windows(2)
        .all(|w| w[0].spend_minor >= w[1].spend_minor));
    assert!(checked >= 3, "turnover checked on {checked} channels");
    assert_eq!(roi.spend_minor, want_spend.values().sum::<i64>());
    let sem = roi.groups.iter().find(|g| g.value == "sem").unwrap();
    let email = roi.groups.iter().find(|g| g.value == "email").unwrap();
    assert!(sem.cost_per_lead_minor > email.cost_per_lead_minor);

    // By campaign: the summer campaign's half, the channel-wide spend under "".
    let by_campaign =
        leadledger_api::pb::attribution_service_client::AttributionServiceClient::connect(format!(
            "http://{}",
            env.addr
        ))
        .await?
        .roi(pb::RoiRequest {
            tenant_id: T.into(),
            group_by: pb::GroupBy::Campaign as i32,
            period_from: Some(time_to_proto(from)),
            period_to: Some(time_to_proto(to)),
            ..Default::default()
        })
        .await?
        .into_inner();
    let summer = by_campaign
        .groups
        .iter()
        .find(|g| g.value == "summer")
        .unwrap();
    assert_eq!(
        (summer.spend_minor, summer.leads, summer.roi),
        (30_000, 0, Some(-1.0))
    );

    // The spend rows a replay of the log writes are the live ones.
    let rows = "SELECT t::text FROM (SELECT tenant_id, channel, campaign, period_start, \
                period_end, amount_minor, currency, event_id, recorded_at \
                FROM marketing_spend) t ORDER BY 1";
    let live: Vec<String> = sqlx::query_scalar(rows).fetch_all(&env.store.pool).await?;
    let replay = env.replay("roi_replay").await?;
    let replayed: Vec<String> = sqlx::query_scalar(rows).fetch_all(&replay.pool).await?;
    assert_same_rows(&live, &replayed, "marketing_spend");
    let april_row: (i64, NaiveDate) = sqlx::query_as(
        "SELECT amount_minor, period_end FROM marketing_spend \
         WHERE channel = 'crafted' AND campaign = '' AND period_start = '2026-04-01'",
    )
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(april_row.0, 45_000, "the restatement stands");
    // Spend is no lead's: nothing of it in `leads` or the funnel.
    let pseudo: i64 = sqlx::query_scalar("SELECT count(*) FROM leads WHERE lead_id LIKE '~%'")
        .fetch_one(&env.store.pool)
        .await?;
    assert_eq!(pseudo, 0);
    env.cleanup().await
}
