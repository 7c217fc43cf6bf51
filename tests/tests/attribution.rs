//! Attribution end to end: events through ingest, credits through `AttributionService`.

use leadledger_api::pb::{self, attribution_service_client::AttributionServiceClient};
use leadledger_e2e::events::{accepted, at, captured, mql, signed, touch};
use leadledger_e2e::{append, TestEnv};
use tonic::Code;

const T: &str = "acme";

fn credits(m: &pb::ModelCredits) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = m
        .channels
        .iter()
        .map(|c| (c.channel.clone(), c.credit))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_side_by_side_credit_exactly_the_converted_value() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    let r = append(
        &mut ingest,
        T,
        vec![
            captured("L-1", "c1", at(4, 1, 9), "webinar"),
            touch("L-1", "t1", at(4, 2, 9), "sem"),
            touch("L-1", "t2", at(4, 3, 9), "email"),
            mql("L-1", "m1", at(4, 4, 9)),
            accepted("L-1", "a1", at(4, 5, 9), "rep-1"),
            signed("L-1", "s1", at(4, 20, 9), 100_000),
            captured("L-2", "c2", at(4, 1, 10), "website"),
            mql("L-2", "m2", at(4, 2, 10)),
        ],
    )
    .await?;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", env.addr))?
        .connect()
        .await?;
    let mut client = AttributionServiceClient::new(channel);
    let compare = |conversion: pb::ConversionKind, models: &[&str]| pb::CompareModelsRequest {
        tenant_id: T.into(),
        conversion: conversion as i32,
        models: models.iter().map(|m| m.to_string()).collect(),
        consistency_token: r.consistency_token.clone(),
        ..Default::default()
    };

    let revenue = client
        .compare_models(compare(
            pb::ConversionKind::Revenue,
            &["first_touch", "last_touch", "linear"],
        ))
        .await?
        .into_inner();
    assert_eq!(revenue.unit, "CNY minor units");
    assert_eq!((revenue.conversions, revenue.unattributed), (1, 0));
    // Channels a model gives nothing are listed with 0: the report shows what it ignored.
    assert_eq!(
        credits(&revenue.models[0]),
        [
            ("email".into(), 0),
            ("sem".into(), 0),
            ("webinar".into(), 100_000)
        ]
    );
    assert_eq!(
        credits(&revenue.models[1]),
        [
            ("email".into(), 100_000),
            ("sem".into(), 0),
            ("webinar".into(), 0)
        ]
    );
    // 100 000 / 3: the remainder unit goes to the earliest touch.
    assert_eq!(
        credits(&revenue.models[2]),
        [
            ("email".into(), 33_333),
            ("sem".into(), 33_333),
            ("webinar".into(), 33_334)
        ]
    );
    assert!(revenue.models.iter().all(|m| m.total == 100_000));

    // Every model at once for MQL counts: two leads reach MQL, 1 000 milli-conversions each.
    let all = client
        .compare_models(compare(pb::ConversionKind::Mql, &[]))
        .await?
        .into_inner();
    assert_eq!(all.unit, "milli-conversions");
    assert_eq!(all.models.len(), 12);
    assert!(
        all.models.iter().all(|m| m.total == 2_000),
        "{:?}",
        all.models
    );
    let linear = all.models.iter().find(|m| m.model == "linear").unwrap();
    assert_eq!(
        credits(linear),
        [
            ("email".into(), 333),
            ("sem".into(), 333),
            ("webinar".into(), 334),
            ("website".into(), 1_000)
        ]
    );

    let markov = client
        .markov_diagnostics(pb::MarkovDiagnosticsRequest {
            tenant_id: T.into(),
            conversion: pb::ConversionKind::Signed as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!((markov.paths, markov.conversions), (2, 1));
    assert!((markov.conversion_probability - 0.5).abs() < 1e-9);
    let re = |c: &str| {
        markov
            .removal_effects
            .iter()
            .find(|r| r.channel == c)
            .unwrap()
            .removal_effect
    };
    assert!((re("webinar") - 1.0).abs() < 1e-9 && (re("email") - 1.0).abs() < 1e-9);
    assert!(re("website").abs() < 1e-9);

    let bad = client
        .compare_models(compare(pb::ConversionKind::Revenue, &["last_click_wins"]))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(leadledger_e2e::violation_fields(&bad), ["models[0]"]);
    let missing = client
        .compare_models(compare(pb::ConversionKind::Unspecified, &[]))
        .await
        .unwrap_err();
    assert_eq!(leadledger_e2e::violation_fields(&missing), ["conversion"]);
    env.cleanup().await
}
