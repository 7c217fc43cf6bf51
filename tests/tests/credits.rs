//! Precomputed attribution credits end to end: a simulated quarter through ingest and the
//! projector, the credits worker keeping the totals, `Attribution` reading them — checked
//! against the pure models run on the same timelines, against a full rebuild, and through
//! the BI view.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use leadledger_api::pb::{self, attribution_service_client::AttributionServiceClient};
use leadledger_attribution::precompute::{self, Basis, Dimension, ModelSet};
use leadledger_attribution::{self as attr, ConversionKind, Level, Model};
use leadledger_e2e::{append, dump_credits, TestEnv};
use leadledger_workers::credits::{self, CreditsConfig};
use tonic::transport::Channel;

const T: &str = "acme";

/// `[from, to)` in whole UTC days.
type Period = (DateTime<Utc>, DateTime<Utc>);

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap()
}

async fn client(env: &TestEnv) -> anyhow::Result<AttributionServiceClient<Channel>> {
    let channel = Channel::from_shared(format!("http://{}", env.addr))?
        .connect()
        .await?;
    Ok(AttributionServiceClient::new(channel))
}

/// Streams a simulated quarter; returns the last consistency token.
async fn ingest_quarter(
    env: &TestEnv,
    seed: u64,
    leads: usize,
    late: f64,
) -> anyhow::Result<String> {
    let sim = leadledger_sim::generate(&leadledger_sim::SimConfig {
        seed,
        leads,
        tenant: T.into(),
        late_rate: late,
        duplicate_rate: 0.1,
        ..Default::default()
    });
    let mut ingest = env.ingest().await?;
    let mut token = String::new();
    for chunk in sim.deliveries.chunks(400) {
        token = append(&mut ingest, T, chunk.to_vec())
            .await?
            .consistency_token;
    }
    Ok(token)
}

fn pb_kind(k: ConversionKind) -> pb::ConversionKind {
    match k {
        ConversionKind::Mql => pb::ConversionKind::Mql,
        ConversionKind::Sql => pb::ConversionKind::Sql,
        ConversionKind::Poc => pb::ConversionKind::Poc,
        ConversionKind::Signed => pb::ConversionKind::Signed,
        ConversionKind::Revenue => pb::ConversionKind::Revenue,
    }
}

fn pb_group(d: Dimension) -> pb::GroupBy {
    match d {
        Dimension::Channel => pb::GroupBy::Channel,
        Dimension::Campaign => pb::GroupBy::Campaign,
        Dimension::Keyword => pb::GroupBy::Keyword,
        Dimension::Region => pb::GroupBy::Region,
        Dimension::Industry => pb::GroupBy::Industry,
        Dimension::Segment => pb::GroupBy::Segment,
    }
}

fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

fn groups(r: &pb::AttributionResponse) -> BTreeMap<String, i64> {
    r.groups
        .iter()
        .map(|g| (g.value.clone(), g.credit))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precomputed_credits_equal_the_pure_models_for_every_grouping() -> anyhow::Result<()> {
    let env = TestEnv::start(3).await?;
    let token = ingest_quarter(&env, 11, 250, 0.05).await?;
    let mut client = client(&env).await?;
    // The token alone makes the first read wait for the credits of every event.
    let waited = std::time::Instant::now();
    let mut request = tonic::Request::new(pb::AttributionRequest {
        tenant_id: T.into(),
        model: "linear".into(),
        conversion: pb::ConversionKind::Mql as i32,
        consistency_token: token,
        ..Default::default()
    });
    // Generous for a debug build on two busy cores; the bench measures the real lag.
    request.set_timeout(Duration::from_secs(60));
    let first = client.attribution(request).await?.into_inner();
    eprintln!("credits level with the token after {:?}", waited.elapsed());
    assert!(first.precomputed);
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;

    let events = leadledger_store::timeline::of_tenant(&env.store.pool, T, None, None).await?;
    let journeys = attr::journeys(&events);
    let mql_leads = journeys
        .iter()
        .filter(|j| j.conversion(ConversionKind::Mql).is_some())
        .count() as i64;
    assert_eq!(first.conversions, mql_leads);
    assert!(
        mql_leads > 20,
        "the quarter must convert leads: {mql_leads}"
    );

    let period = (
        start() + chrono::Duration::days(30),
        start() + chrono::Duration::days(61),
    );
    let mut checked = 0;
    for level in [Level::Contact, Level::account()] {
        for kind in ConversionKind::ALL {
            for model in Model::rule_based() {
                let mut a = attr::attribute(&journeys, kind, level, &model)?;
                a.credited
                    .retain(|c| kind != ConversionKind::Revenue || c.conversion.currency == "CNY");
                for basis in Basis::ALL {
                    let mut cases: Vec<(Dimension, Option<Period>)> =
                        Dimension::ALL.iter().map(|d| (*d, None)).collect();
                    cases.push((Dimension::Channel, Some(period)));
                    cases.push((Dimension::Region, Some(period)));
                    for (dimension, within) in cases {
                        let expected = precompute::group(
                            &journeys,
                            &a,
                            basis,
                            dimension,
                            within.map(|p| p.0.date_naive()),
                            within.map(|p| p.1.date_naive()),
                        );
                        let got = client
                            .attribution(pb::AttributionRequest {
                                tenant_id: T.into(),
                                model: model.name().into(),
                                level: match level {
                                    Level::Contact => pb::AttributionLevel::Contact,
                                    Level::Account { .. } => pb::AttributionLevel::Account,
                                } as i32,
                                conversion: pb_kind(kind) as i32,
                                group_by: pb_group(dimension) as i32,
                                period_basis: match basis {
                                    Basis::Captured => pb::PeriodBasis::Captured,
                                    Basis::Converted => pb::PeriodBasis::Converted,
                                } as i32,
                                period_from: within.map(|p| ts(p.0)),
                                period_to: within.map(|p| ts(p.1)),
                                ..Default::default()
                            })
                            .await?
                            .into_inner();
                        let what = format!(
                            "{} {level:?} {kind:?} {basis:?} {dimension:?} {within:?}",
                            model.name()
                        );
                        assert!(got.precomputed, "{what}");
                        assert_eq!(groups(&got), expected.groups, "{what}");
                        assert_eq!(
                            (got.conversions, got.unattributed),
                            (expected.conversions, expected.unattributed),
                            "{what}"
                        );
                        assert_eq!(got.total, expected.groups.values().sum::<i64>(), "{what}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * 5 * 10 * 2 * 8);

    // The same model with its weights given in the request is computed on request, and
    // agrees with the precomputed one.
    let w = attr::PositionWeights::W_SHAPED;
    for (model, weights) in [
        ("w_shaped", None),
        (
            "custom",
            Some(pb::PositionWeights {
                first: w.first,
                lead_creation: w.lead_creation,
                opportunity_creation: w.opportunity_creation,
                closed_won: w.closed_won,
                last: w.last,
                others: w.others,
            }),
        ),
    ] {
        let r = client
            .attribution(pb::AttributionRequest {
                tenant_id: T.into(),
                model: model.into(),
                conversion: pb::ConversionKind::Revenue as i32,
                group_by: pb::GroupBy::Campaign as i32,
                custom_weights: weights,
                ..Default::default()
            })
            .await?
            .into_inner();
        assert_eq!(r.precomputed, model == "w_shaped");
        let a = attr::attribute(
            &journeys,
            ConversionKind::Revenue,
            Level::Contact,
            &Model::WShaped,
        )?;
        let g = precompute::group(
            &journeys,
            &a,
            Basis::Captured,
            Dimension::Campaign,
            None,
            None,
        );
        assert_eq!(groups(&r), g.groups, "{model}");
    }
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_credits_equal_a_rebuild_and_the_bi_view_sums_exactly() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    // Many late and duplicated facts: leads are recomputed again and again, colleagues too.
    ingest_quarter(&env, 23, 200, 0.3).await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    let live = dump_credits(&env.store).await?;
    let credit_rows = live
        .iter()
        .filter(|r| r.starts_with("attribution_credits:"))
        .count();
    assert!(credit_rows > 100, "{credit_rows} credit rows");

    let cfg = CreditsConfig::new(ModelSet::default_set());
    // The env's worker is running: it is asked to rebuild, and this waits for it.
    let leads =
        credits::rebuild(&env.store, &env.log.topic, &cfg, Duration::from_secs(120)).await?;
    assert!(leads >= 200, "{leads}");
    let rebuilt = dump_credits(&env.store).await?;
    leadledger_e2e::assert_same_rows(&rebuilt, &live, "credits rebuilt from the timelines");

    // The BI view: one row per conversion × touch × model, each model's credits summing to
    // the conversion's value exactly.
    let view_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM attribution_credits_by_model")
        .fetch_one(&env.store.pool)
        .await?;
    assert_eq!(view_rows, credit_rows as i64 * 10);
    let inexact: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ( \
           SELECT sum(credit_minor) AS s, min(conversion_value_minor) AS v \
           FROM attribution_credits_by_model \
           GROUP BY tenant_id, lead_id, conversion, level, model) x \
         WHERE s <> v",
    )
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(inexact, 0);
    // And it agrees with the pre-aggregated totals.
    let (view_sum, totals_sum): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT sum(credit_minor)::int8 FROM attribution_credits_by_model \
                 WHERE conversion = 'revenue' AND level = 'account' AND model = 'j'), \
                (SELECT sum(credits[9])::int8 FROM attribution_totals \
                 WHERE conversion = 'revenue' AND level = 'account' \
                   AND basis = 'captured' AND dimension = 'keyword')",
    )
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(view_sum, totals_sum);
    assert!(view_sum > 0);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shapley_and_custom_models_over_the_api() -> anyhow::Result<()> {
    let env = TestEnv::start(1).await?;
    let token = ingest_quarter(&env, 5, 120, 0.0).await?;
    let mut client = client(&env).await?;
    let shapley = |seed: u64, samples: u32| pb::ShapleyDiagnosticsRequest {
        tenant_id: T.into(),
        conversion: pb::ConversionKind::Sql as i32,
        seed,
        samples,
        consistency_token: token.clone(),
        ..Default::default()
    };
    let a = client
        .shapley_diagnostics(shapley(7, 500))
        .await?
        .into_inner();
    let b = client
        .shapley_diagnostics(shapley(7, 500))
        .await?
        .into_inner();
    assert_eq!(a, b, "deterministic");
    assert!(a.conversions > 0);
    let sum: f64 = a.values.iter().map(|v| v.value).sum();
    assert!((sum - a.total_value as f64).abs() < 1e-6 * a.total_value as f64);
    assert_eq!(
        a.method, "exact",
        "the simulator has fewer than 12 channels"
    );
    let bad = client
        .shapley_diagnostics(shapley(7, 1_000_000))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert_eq!(leadledger_e2e::violation_fields(&bad), ["samples"]);

    // CompareModels: a custom model and a second-order Markov chain beside the built-ins.
    let r = client
        .compare_models(pb::CompareModelsRequest {
            tenant_id: T.into(),
            conversion: pb::ConversionKind::Mql as i32,
            models: vec!["first_touch".into(), "markov".into()],
            custom: vec![pb::CustomModel {
                name: "all_first".into(),
                weights: Some(pb::PositionWeights {
                    first: 10_000,
                    ..Default::default()
                }),
            }],
            markov_order: 2,
            ..Default::default()
        })
        .await?
        .into_inner();
    let names: Vec<&str> = r.models.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(names, ["first_touch", "markov", "all_first"]);
    assert_eq!(r.models[0].channels, r.models[2].channels);
    for m in &r.models {
        assert_eq!(m.total, r.conversions * 1000, "{}", m.model);
    }
    let bad = client
        .compare_models(pb::CompareModelsRequest {
            tenant_id: T.into(),
            conversion: pb::ConversionKind::Mql as i32,
            custom: vec![pb::CustomModel {
                name: "linear".into(),
                weights: Some(pb::PositionWeights {
                    first: 1,
                    ..Default::default()
                }),
            }],
            markov_order: 9,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    env.cleanup().await
}
