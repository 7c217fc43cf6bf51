//! The rest of the API surface end to end: streaming ingest, CaptureLead, headers,
//! consistency-token deadlines, unknown event types, health, and a whole simulated quarter.

use std::time::Duration;

use leadledger_api::pb::{self, event::Payload};
use leadledger_e2e::events::{at, captured, mql, signed};
use leadledger_e2e::{append, produce_raw, violation_fields, TestEnv};
use prost::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;
use tonic::Code;

const T: &str = "acme";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_events_answers_each_event_in_order() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    let mut bad = signed("L-1", "s1", at(4, 3, 9), 500);
    if let Some(Payload::Signed(s)) = bad.payload.as_mut() {
        s.currency = "RMB".into();
    }
    let msgs = vec![
        pb::StreamEventsRequest {
            tenant_id: T.into(),
            event: Some(captured("L-1", "c1", at(4, 1, 9), "website")),
        },
        pb::StreamEventsRequest {
            tenant_id: String::new(),
            event: Some(bad),
        },
        pb::StreamEventsRequest {
            tenant_id: "globex".into(),
            event: Some(mql("L-1", "m0", at(4, 2, 9))),
        },
        pb::StreamEventsRequest {
            tenant_id: String::new(),
            event: Some(mql("L-1", "m1", at(4, 2, 9))),
        },
    ];
    let mut responses = ingest
        .stream_events(tokio_stream::iter(msgs))
        .await?
        .into_inner();
    let mut got = Vec::new();
    while let Some(r) = responses.message().await? {
        got.push(r);
    }
    assert_eq!(got.len(), 4);
    assert_eq!(
        got.iter().map(|r| r.sequence).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    use pb::stream_events_response::Result as R;
    assert!(matches!(got[0].result, Some(R::Ack(_))));
    match &got[1].result {
        Some(R::Error(e)) => {
            assert_eq!(e.code, Code::InvalidArgument as i32);
            assert_eq!(e.violations[0].field, "event.payload.signed.currency");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    match &got[2].result {
        Some(R::Error(e)) => assert_eq!(e.violations[0].field, "tenant_id"),
        other => panic!("expected a tenant error, got {other:?}"),
    }
    assert!(matches!(got[3].result, Some(R::Ack(_))));
    assert_eq!(
        env.end_offsets(&env.log.topic)?.iter().sum::<i64>(),
        2,
        "only the valid ones"
    );

    let mut query = env.query().await?;
    let lead = query
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "L-1".into(),
            consistency_token: got[3].consistency_token.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(lead.lead.unwrap().stage, pb::Stage::Mql as i32);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_lead_is_one_call_and_names_its_own_fields() -> anyhow::Result<()> {
    let env = TestEnv::start_with(1, true).await?;
    let mut ingest = env.ingest().await?;
    let Some(Payload::LeadCaptured(lead)) = captured("L-7", "x", at(4, 1, 9), "seo").payload else {
        unreachable!()
    };
    let mut req = tonic::Request::new(pb::CaptureLeadRequest {
        tenant_id: T.into(),
        lead_id: "L-7".into(),
        source_system: "hubspot".into(),
        source_event_id: "form-123".into(),
        occurred_at: None, // defaults to now
        lead: Some(lead.clone()),
    });
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    req.metadata_mut().insert("traceparent", parent.parse()?);
    let resp = ingest.capture_lead(req).await?.into_inner();
    let ack = resp.ack.unwrap();
    let expected_id = leadledger_domain::ids::source_event_id(T, "hubspot", "form-123");
    assert_eq!(ack.event_id, expected_id.to_string());

    // Headers are on for this deployment: event type, schema version, tenant, id, trace.
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &env.log.brokers)
        .set("group.id", format!("h-{}", leadledger_e2e::unique()))
        .set("auto.offset.reset", "earliest")
        .create()?;
    c.subscribe(&[&env.log.topic])?;
    let m = tokio::time::timeout(Duration::from_secs(20), c.recv()).await??;
    let header = |k: &str| {
        m.headers()
            .and_then(|h| h.iter().find(|h| h.key == k))
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    assert_eq!(header("ll-event-type"), "lead_captured");
    // A capture's contact is sealed: schema version 2 (docs/PRIVACY.md).
    assert_eq!(header("ll-schema-version"), "2");
    assert_eq!(header("ll-tenant"), T);
    assert_eq!(header("ll-event-id"), ack.event_id);
    let tp = header("traceparent");
    assert_eq!(
        &tp[3..35],
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "the caller's trace continues"
    );
    assert_eq!(m.key(), Some(&b"L-7"[..]));

    let mut bad = lead;
    bad.contact.as_mut().unwrap().email = "not-an-email".into();
    let err = ingest
        .capture_lead(pb::CaptureLeadRequest {
            tenant_id: T.into(),
            lead_id: String::new(),
            source_system: "hubspot".into(),
            source_event_id: "form-124".into(),
            occurred_at: None,
            lead: Some(bad),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&err), ["lead_id", "lead.contact.email"]);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_not_applied_before_the_deadline_fails_clearly() -> anyhow::Result<()> {
    let mut env = TestEnv::start(1).await?;
    // A real write the projection cannot apply (its projector is stopped).
    env.stop_projector().await?;
    let mut ingest = env.ingest().await?;
    let token = append(
        &mut ingest,
        T,
        vec![captured("L-1", "c-tok", at(4, 1, 9), "website")],
    )
    .await?
    .consistency_token;
    let mut query = env.query().await?;
    let mut req = tonic::Request::new(pb::GetLeadRequest {
        tenant_id: T.into(),
        lead_id: "L-1".into(),
        consistency_token: token,
    });
    req.set_timeout(Duration::from_millis(1000));
    let started = std::time::Instant::now();
    let err = query.get_lead(req).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // A forged token past the log's end is refused at once, whatever the deadline.
    let mut req = tonic::Request::new(pb::GetLeadRequest {
        tenant_id: T.into(),
        lead_id: "L-1".into(),
        consistency_token: format!("ct2:{T}:{}:0@999999999", env.log.topic),
    });
    req.set_timeout(Duration::from_secs(30));
    let started = std::time::Instant::now();
    let err = query.get_lead(req).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("past the log's end"), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let bad = query
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "L-1".into(),
            consistency_token: "garbage".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_type_from_a_newer_writer_is_kept_but_not_folded() -> anyhow::Result<()> {
    let env = TestEnv::start(1).await?;
    let mut ingest = env.ingest().await?;
    append(
        &mut ingest,
        T,
        vec![captured("L-3", "c3", at(4, 1, 9), "email")],
    )
    .await?;
    // A newer writer's event: a payload this reader has no field for (unknown tag 99).
    let mut future = pb::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        tenant_id: T.into(),
        lead_id: "L-3".into(),
        occurred_at: Some(leadledger_api::convert::time_to_proto(at(4, 2, 9))),
        recorded_at: Some(leadledger_api::convert::time_to_proto(at(4, 2, 9))),
        source: Some(pb::SourceRef {
            system: "sla".into(),
            event_id: "b1".into(),
        }),
        schema_version: 1,
        event_type: "sla_breached".into(),
        ..Default::default()
    }
    .encode_to_vec();
    future.extend_from_slice(&[0x9a, 0x06, 0x02, 0x08, 0x01]); // field 99, bytes {1: 1}
    produce_raw(&env.log.brokers, &env.log.topic, "L-3", &future, None).await?;
    let r = append(&mut ingest, T, vec![mql("L-3", "m3", at(4, 3, 9))]).await?;
    let mut query = env.query().await?;
    let lead = query
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "L-3".into(),
            consistency_token: r.consistency_token,
        })
        .await?
        .into_inner();
    let types: Vec<&str> = lead
        .timeline
        .iter()
        .map(|t| t.event_type.as_str())
        .collect();
    assert_eq!(types, ["lead_captured", "sla_breached", "mql_qualified"]);
    assert!(lead.timeline[1].event.as_ref().unwrap().payload.is_none());
    let state = lead.lead.unwrap();
    assert_eq!(state.event_count, 3);
    assert_eq!(state.stage, pb::Stage::Mql as i32);
    assert_eq!(lead.transitions.len(), 2);
    assert_eq!(env.end_offsets(&env.log.dead_letter_topic())?, [0]);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_are_served() -> anyhow::Result<()> {
    let env = TestEnv::start(1).await?;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", env.addr))?
        .connect()
        .await?;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner();
    assert_eq!(
        status.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_quarter_projects_exactly_the_expected_funnel() -> anyhow::Result<()> {
    let env = TestEnv::start(3).await?;
    let sim = leadledger_sim::generate(&leadledger_sim::SimConfig {
        seed: 7,
        leads: 400,
        tenant: T.into(),
        ..Default::default()
    });
    let mut ingest = env.ingest().await?;
    let mut tokens = Vec::new();
    for chunk in sim.deliveries.chunks(500) {
        tokens.push(
            append(&mut ingest, T, chunk.to_vec())
                .await?
                .consistency_token,
        );
    }
    let mut query = env.query().await?;
    for t in &tokens {
        query
            .get_lead(pb::GetLeadRequest {
                tenant_id: T.into(),
                lead_id: "none".into(),
                consistency_token: t.clone(),
            })
            .await
            .map(|_| ())
            .or_else(|s| {
                if s.code() == Code::NotFound {
                    Ok(())
                } else {
                    Err(s)
                }
            })?;
    }
    let funnel = query
        .funnel(pb::FunnelRequest {
            tenant_id: T.into(),
            group_by: vec![pb::FunnelDimension::Channel as i32],
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut revenue = 0;
    for g in &funnel.groups {
        let expected = sim.expected.reached_by_channel[&g.key[0]];
        let got: Vec<u64> = g
            .stages
            .iter()
            .map(|s| u64::try_from(s.leads).unwrap())
            .collect();
        assert_eq!(got, expected, "channel {}", g.key[0]);
        revenue += g.signed_amount_minor.get("CNY").copied().unwrap_or(0);
    }
    assert_eq!(funnel.groups.len(), sim.expected.reached_by_channel.len());
    assert_eq!(revenue, sim.expected.signed_amount_minor);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM lead_events")
        .fetch_one(&env.store.pool)
        .await?;
    assert_eq!(u64::try_from(events)?, sim.expected.distinct_events);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_is_refused_and_appends_nothing() -> anyhow::Result<()> {
    let env = TestEnv::start(1).await?;
    let mut ingest = env.ingest().await?;
    // 400 events of ~12 KiB each: under the 500-event limit, over the 4 MiB message limit.
    let events: Vec<pb::Event> = (0..400)
        .map(|i| {
            let mut e = mql("L-1", &format!("m{i}"), at(4, 2, 9));
            if let Some(Payload::MqlQualified(m)) = e.payload.as_mut() {
                m.reason = "x".repeat(12 * 1024);
            }
            e
        })
        .collect();
    let err = append(&mut ingest, T, events).await.unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err}");
    assert!(err.message().contains("too large"), "{}", err.message());
    assert_eq!(env.end_offsets(&env.log.topic)?, [0]);
    env.cleanup().await
}
