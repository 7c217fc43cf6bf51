//! The trust boundary (issue 15), against the real server, broker and database: the
//! authentication catalogue (every bad credential, its code, and the log did not move), the
//! revocation bound, per-key limits, and tenant isolation on every RPC.

use std::sync::Arc;
use std::time::{Duration, Instant};

use leadledger_api::pb::{
    self, attribution_service_client::AttributionServiceClient,
    ingest_service_client::IngestServiceClient, ownership_service_client::OwnershipServiceClient,
    query_service_client::QueryServiceClient, sla_service_client::SlaServiceClient,
};
use leadledger_e2e::events::{accepted, at, captured, event, mql, signed};
use leadledger_e2e::TestEnv;
use leadledger_grpc::auth::GateConfig;
use leadledger_sla::PolicySet;
use leadledger_workers::sla_worker::ManualClock;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

const A: &str = "acme";
const B: &str = "globex";

fn gate() -> GateConfig {
    GateConfig {
        open_health: true,
        rate_per_sec: 20,
        burst: 20,
        concurrency: 100,
    }
}

/// One `Append` of a capture with raw credentials: the `authorization` value (if any), the
/// request's `tenant_id`, the `x-tenant-id` header and the event's own `tenant_id`.
async fn append_raw(
    env: &TestEnv,
    authorization: Option<&str>,
    tenant_field: &str,
    header: Option<&str>,
    event_tenant: &str,
    lead: &str,
) -> Result<pb::AppendResponse, Status> {
    let mut client = IngestServiceClient::connect(format!("http://{}", env.addr))
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut e = captured(lead, &format!("src-{lead}"), at(4, 1, 9), "website");
    e.tenant_id = event_tenant.into();
    let mut req = Request::new(pb::AppendRequest {
        tenant_id: tenant_field.into(),
        events: vec![e],
    });
    if let Some(v) = authorization {
        req.metadata_mut()
            .insert("authorization", v.parse().expect("ascii"));
    }
    if let Some(h) = header {
        req.metadata_mut()
            .insert("x-tenant-id", h.parse().expect("ascii"));
    }
    client.append(req).await.map(tonic::Response::into_inner)
}

/// One refusal: name, `authorization` value, request tenant, `x-tenant-id`, event tenant,
/// expected code, what the message says.
type Case = (
    &'static str,
    Option<String>,
    &'static str,
    Option<&'static str>,
    &'static str,
    Code,
    &'static str,
);

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_refused_and_nothing_is_appended() -> anyhow::Result<()> {
    let env = TestEnv::start_authenticated(1, gate()).await?;
    let a = env.create_key(A, &["ingest", "query", "command"]).await?;
    let a_query = env.create_key(A, &["query"]).await?;
    let b = env.create_key(B, &["ingest", "query"]).await?;
    let revoked = env.create_key(A, &["ingest"]).await?;
    let revoked_id = &revoked[4..16];
    assert!(leadledger_store::keys::revoke(&env.store.pool, revoked_id).await?);
    env.reload_keys().await?;
    let expired = env
        .create_key_expiring(
            A,
            &["ingest"],
            Some(chrono::Utc::now() - chrono::Duration::hours(1)),
        )
        .await?;
    let unknown = leadledger_grpc::auth::key::generate().key;

    // The good path first: A's key appends for A, with or without naming A.
    let ok = append_raw(&env, Some(&bearer(&a)), "", None, "", "L-ok").await?;
    assert_eq!(ok.acks.len(), 1);
    assert!(ok.consistency_token.starts_with(&format!("ct2:{A}:")));
    append_raw(&env, Some(&bearer(&a)), A, Some(A), A, "L-ok2").await?;
    let b_token = append_raw(&env, Some(&bearer(&b)), "", None, "", "L-b")
        .await?
        .consistency_token;

    let pad = "x".repeat(20 * 1024);
    let cases: Vec<Case> = vec![
        (
            "no key",
            None,
            "",
            None,
            "",
            Code::Unauthenticated,
            "no API key",
        ),
        (
            "malformed key",
            Some("Bearer not-a-key".into()),
            "",
            None,
            "",
            Code::Unauthenticated,
            "malformed API key",
        ),
        (
            "not a bearer",
            Some(format!("Basic {a}")),
            "",
            None,
            "",
            Code::Unauthenticated,
            "malformed authorization",
        ),
        (
            "unknown key",
            Some(bearer(&unknown)),
            "",
            None,
            "",
            Code::Unauthenticated,
            "unknown API key",
        ),
        (
            "a known id with a wrong secret",
            Some(bearer(&format!("{}{}", &a[..17], "0".repeat(64)))),
            "",
            None,
            "",
            Code::Unauthenticated,
            "unknown API key",
        ),
        (
            "revoked key",
            Some(bearer(&revoked)),
            "",
            None,
            "",
            Code::Unauthenticated,
            "revoked",
        ),
        (
            "expired key",
            Some(bearer(&expired)),
            "",
            None,
            "",
            Code::Unauthenticated,
            "expired",
        ),
        (
            "wrong scope",
            Some(bearer(&a_query)),
            "",
            None,
            "",
            Code::PermissionDenied,
            "`ingest` scope",
        ),
        (
            "another tenant in the payload",
            Some(bearer(&a)),
            B,
            None,
            "",
            Code::PermissionDenied,
            "tenant_id names tenant \"globex\"",
        ),
        (
            "another tenant in an event",
            Some(bearer(&a)),
            "",
            None,
            B,
            Code::PermissionDenied,
            "events[0].tenant_id",
        ),
        (
            "another tenant in the header",
            Some(bearer(&a)),
            "",
            Some(B),
            "",
            Code::PermissionDenied,
            "x-tenant-id",
        ),
    ];
    let topic = env.log.topic.clone();
    for (name, auth, field, header, event_tenant, code, says) in cases {
        let before = env.end_offsets(&topic)?;
        let err = append_raw(&env, auth.as_deref(), field, header, event_tenant, "L-x")
            .await
            .expect_err(name);
        assert_eq!(err.code(), code, "{name}: {err:?}");
        assert!(err.message().contains(says), "{name}: {err:?}");
        assert_eq!(env.end_offsets(&topic)?, before, "{name}: the log moved");
    }

    // Oversized metadata: refused before any service code runs, nothing appended.
    let before = env.end_offsets(&topic)?;
    let mut client = IngestServiceClient::new(env.keyed(&a).await?);
    let mut req = Request::new(pb::AppendRequest {
        tenant_id: String::new(),
        events: vec![captured("L-pad", "src-pad", at(4, 1, 9), "website")],
    });
    req.metadata_mut().insert("x-pad", pad.parse()?);
    let err = client.append(req).await.expect_err("oversized metadata");
    // HTTP/2 refuses the header block (431) before gRPC runs; clients read that as UNKNOWN.
    assert_eq!(err.code(), Code::Unknown, "{err:?}");
    assert!(err.message().contains("431"), "{err:?}");
    assert_eq!(
        env.end_offsets(&topic)?,
        before,
        "oversized metadata: the log moved"
    );

    // B's key with A's token, and A's key with B's token: refused, whatever the RPC.
    let a_token = ok.consistency_token;
    let mut b_query = QueryServiceClient::new(env.keyed(&b).await?);
    let err = b_query
        .get_lead(pb::GetLeadRequest {
            lead_id: "L-ok".into(),
            consistency_token: a_token,
            ..Default::default()
        })
        .await
        .expect_err("B with A's token");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let mut a_query_client = QueryServiceClient::new(env.keyed(&a_query).await?);
    let err = a_query_client
        .get_lead(pb::GetLeadRequest {
            lead_id: "L-b".into(),
            consistency_token: b_token,
            ..Default::default()
        })
        .await
        .expect_err("A with B's token");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    // Health and reflection answer without a key (the default).
    let mut health = tonic_health::pb::health_client::HealthClient::new(
        tonic::transport::Channel::from_shared(format!("http://{}", env.addr))?
            .connect()
            .await?,
    );
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // A flood past the rate limit (60 calls at once against 20/s): RESOURCE_EXHAUSTED
    // with retry info; the log moved by exactly the calls that were admitted.
    let flood = env.create_key(A, &["ingest"]).await?;
    let channel = env.keyed(&flood).await?;
    let before: i64 = env.end_offsets(&topic)?.iter().sum();
    let calls = (0..60).map(|i| {
        let mut client = IngestServiceClient::new(channel.clone());
        async move {
            client
                .append(pb::AppendRequest {
                    tenant_id: String::new(),
                    events: vec![captured(
                        &format!("F-{i}"),
                        &format!("f-{i}"),
                        at(4, 1, 9),
                        "website",
                    )],
                })
                .await
        }
    });
    let (mut admitted, mut exhausted) = (0i64, 0);
    for r in futures::future::join_all(calls).await {
        match r {
            Ok(_) => admitted += 1,
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
                let retry = e.get_error_details().retry_info().cloned();
                assert!(
                    retry.and_then(|r| r.retry_delay).is_some(),
                    "no retry info: {e:?}"
                );
                exhausted += 1;
            }
        }
    }
    assert!(exhausted > 0, "60 calls at once never hit a 20/s limit");
    assert!(admitted >= 1, "nothing of the flood was admitted");
    let after: i64 = env.end_offsets(&topic)?.iter().sum();
    assert_eq!(after - before, admitted, "refused calls appended something");
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_stops_working_within_the_refresh_bound() -> anyhow::Result<()> {
    // The harness's ring reloads every 500 ms (production default: auth.refresh_ms = 5000).
    let mut cfg = gate();
    cfg.rate_per_sec = 0; // it polls
    let env = TestEnv::start_authenticated(1, cfg).await?;
    let key = env.create_key(A, &["query"]).await?;
    let mut client = QueryServiceClient::new(env.keyed(&key).await?);
    let funnel = || pb::FunnelRequest::default();
    client.funnel(funnel()).await?;
    assert!(leadledger_store::keys::revoke(&env.store.pool, &key[4..16]).await?);
    // No reload by hand: the background refresh must see it.
    let revoked_at = Instant::now();
    loop {
        match client.funnel(funnel()).await {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
                assert!(e.message().contains("revoked"), "{e:?}");
                break;
            }
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(5),
            "a revoked key still worked after 5 s (refresh every 500 ms)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("revocation took effect after {:?}", revoked_at.elapsed());
    env.cleanup().await
}

/// Every read RPC of the API for the caller of `channel`, each answer encoded (a fixed
/// `as_of` everywhere: the answers depend on the data only).
async fn every_read(
    channel: &leadledger_grpc::auth::client::KeyedChannel,
) -> Vec<(String, Vec<u8>)> {
    let as_of = Some(leadledger_api::convert::time_to_proto(at(9, 1, 0)));
    let mut q = QueryServiceClient::new(channel.clone());
    let mut attr = AttributionServiceClient::new(channel.clone());
    let mut sla = SlaServiceClient::new(channel.clone());
    let mut own = OwnershipServiceClient::new(channel.clone());
    fn enc<M: prost::Message>(r: Result<tonic::Response<M>, Status>) -> Vec<u8> {
        match r {
            Ok(m) => m.into_inner().encode_to_vec(),
            Err(s) => format!("{:?}: {}", s.code(), s.message()).into_bytes(),
        }
    }
    let revenue = pb::ConversionKind::Revenue as i32;
    vec![
        (
            "GetLead".into(),
            enc(q
                .get_lead(pb::GetLeadRequest {
                    lead_id: "B-1".into(),
                    ..Default::default()
                })
                .await),
        ),
        (
            "ListLeads".into(),
            enc(q.list_leads(pb::ListLeadsRequest::default()).await),
        ),
        (
            "Funnel".into(),
            enc(q
                .funnel(pb::FunnelRequest {
                    group_by: vec![pb::FunnelDimension::Channel as i32],
                    ..Default::default()
                })
                .await),
        ),
        (
            "Attribution".into(),
            enc({
                // UNAVAILABLE until the credits worker has stored its model set (start).
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    let r = attr
                        .attribution(pb::AttributionRequest {
                            model: "linear".into(),
                            conversion: revenue,
                            group_by: pb::GroupBy::Channel as i32,
                            ..Default::default()
                        })
                        .await;
                    match r {
                        Err(e) if e.code() == Code::Unavailable && Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(100)).await
                        }
                        r => break r,
                    }
                }
            }),
        ),
        (
            "CompareModels".into(),
            enc(attr
                .compare_models(pb::CompareModelsRequest {
                    conversion: revenue,
                    ..Default::default()
                })
                .await),
        ),
        (
            "MarkovDiagnostics".into(),
            enc(attr
                .markov_diagnostics(pb::MarkovDiagnosticsRequest {
                    conversion: revenue,
                    ..Default::default()
                })
                .await),
        ),
        (
            "ShapleyDiagnostics".into(),
            enc(attr
                .shapley_diagnostics(pb::ShapleyDiagnosticsRequest {
                    conversion: revenue,
                    seed: 7,
                    ..Default::default()
                })
                .await),
        ),
        (
            "SlaReport".into(),
            enc(sla
                .sla_report(pb::SlaReportRequest {
                    as_of,
                    ..Default::default()
                })
                .await),
        ),
        (
            "PartnerLeakage".into(),
            enc(sla
                .partner_leakage(pb::PartnerLeakageRequest {
                    as_of,
                    ..Default::default()
                })
                .await),
        ),
        (
            "RepLeaderboard".into(),
            enc(sla
                .rep_leaderboard(pb::RepLeaderboardRequest {
                    as_of,
                    ..Default::default()
                })
                .await),
        ),
        (
            "ListOwnershipConflicts".into(),
            enc(own
                .list_ownership_conflicts(pb::ListOwnershipConflictsRequest::default())
                .await),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_a_reaches_nothing_of_tenant_b() -> anyhow::Result<()> {
    let mut cfg = gate();
    cfg.rate_per_sec = 0; // this test counts answers, not limits
    let env = TestEnv::start_authenticated(2, cfg).await?;
    let a = env.create_key(A, &["ingest", "query", "command"]).await?;
    let b = env.create_key(B, &["ingest", "query", "command"]).await?;
    let (a_ch, b_ch) = (env.keyed(&a).await?, env.keyed(&b).await?);

    // What A sees before B has anything.
    let before = every_read(&a_ch).await;
    let b_before = every_read(&b_ch).await;

    // B's quarter: captures, MQLs (SLA clocks), acceptance, a deal, one claim.
    let mut b_ingest = IngestServiceClient::new(b_ch.clone());
    let mut events = Vec::new();
    for i in 1..=4 {
        let lead = format!("B-{i}");
        let mut c = captured(&lead, &format!("c{i}"), at(4, 1, 9), "webinar");
        if let Some(pb::event::Payload::LeadCaptured(l)) = c.payload.as_mut() {
            let company = l.company.as_mut().expect("company");
            company.domain = "shared.example".into();
        }
        events.push(c);
        events.push(mql(&lead, &format!("m{i}"), at(4, 2, 9)));
    }
    events.push(accepted("B-1", "a1", at(4, 3, 9), "rep-b"));
    events.push(signed("B-1", "s1", at(4, 20, 9), 500_000));
    let token = b_ingest
        .append(pb::AppendRequest {
            tenant_id: String::new(),
            events,
        })
        .await?
        .into_inner()
        .consistency_token;
    let mut b_own = OwnershipServiceClient::new(b_ch.clone());
    b_own
        .claim_lead(pb::ClaimLeadRequest {
            lead_id: "B-2".into(),
            rep_id: "rep-b".into(),
            team: "east".into(),
            request_id: "claim-b2".into(),
            ..Default::default()
        })
        .await?;
    // Its SLA alerts, from the real worker at a late instant.
    let clock = Arc::new(ManualClock::new(at(6, 1, 0)));
    let worker = env.start_sla_worker(PolicySet::defaults(), clock)?;
    let mut b_sla = SlaServiceClient::new(b_ch.clone());
    let mut b_watch = b_sla
        .watch_sla(pb::WatchSlaRequest::default())
        .await?
        .into_inner();
    let first_b_alert = tokio::time::timeout(Duration::from_secs(30), b_watch.message())
        .await??
        .expect("B's alert");
    assert_eq!(first_b_alert.lead_id.chars().next(), Some('B'));
    worker.stop().await;

    // Everything of B is applied (B's token answers for B).
    let mut b_q = QueryServiceClient::new(b_ch.clone());
    let mut req = Request::new(pb::GetLeadRequest {
        lead_id: "B-1".into(),
        consistency_token: token.clone(),
        ..Default::default()
    });
    req.set_timeout(Duration::from_secs(20));
    b_q.get_lead(req).await?;

    // A's every read answers exactly as before B wrote anything; B's do not.
    let after = every_read(&a_ch).await;
    let b_after = every_read(&b_ch).await;
    for ((name, was), (_, now)) in before.iter().zip(&after) {
        assert_eq!(was, now, "{name}: A sees something of B");
    }
    let changed = b_before
        .iter()
        .zip(&b_after)
        .filter(|(x, y)| x.1 != y.1)
        .count();
    assert!(
        changed >= 6,
        "B's own reads did not see B's data ({changed} changed)"
    );

    // A cannot claim, assign, or stream anything of B.
    let mut a_own = OwnershipServiceClient::new(a_ch.clone());
    let err = a_own
        .claim_lead(pb::ClaimLeadRequest {
            lead_id: "B-1".into(),
            rep_id: "rep-a".into(),
            team: "east".into(),
            ..Default::default()
        })
        .await
        .expect_err("A claimed B's lead");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("no such lead"), "{err:?}");
    let err = a_own
        .assign_lead(pb::AssignLeadRequest {
            lead_id: "B-2".into(),
            rep_id: "rep-a".into(),
            requested_by: "mgr-a".into(),
            expected_rep_id: "rep-b".into(),
            ..Default::default()
        })
        .await
        .expect_err("A assigned B's lead");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("no such lead"), "{err:?}");
    let owner: String = sqlx::query_scalar(
        "SELECT owner_rep_id FROM leads WHERE tenant_id = $1 AND lead_id = 'B-2'",
    )
    .bind(B)
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(owner, "rep-b");
    let mut a_sla = SlaServiceClient::new(a_ch.clone());
    let mut a_watch = a_sla
        .watch_sla(pb::WatchSlaRequest::default())
        .await?
        .into_inner();
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), a_watch.message())
            .await
            .is_err(),
        "A's WatchSla streamed something"
    );
    let err = a_sla
        .watch_sla(pb::WatchSlaRequest {
            from_position: first_b_alert.resume_position.clone(),
            ..Default::default()
        })
        .await
        .expect_err("A resumed from B's position");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // With B's token, A's reads are refused; A's StreamEvents cannot write for B.
    let mut a_q = QueryServiceClient::new(a_ch.clone());
    let err = a_q
        .list_leads(pb::ListLeadsRequest {
            consistency_token: token,
            ..Default::default()
        })
        .await
        .expect_err("A used B's token");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    drop(a_watch);
    drop(b_watch);
    let mut a_ingest = IngestServiceClient::new(a_ch.clone());
    let mut e = captured("B-9", "x9", at(4, 1, 9), "seo");
    e.tenant_id = B.into();
    let replies = a_ingest
        .stream_events(tokio_stream::iter(vec![pb::StreamEventsRequest {
            tenant_id: String::new(),
            event: Some(e),
        }]))
        .await?
        .into_inner();
    let replies: Vec<_> = replies.collect_all().await?;
    match &replies[0].result {
        Some(pb::stream_events_response::Result::Error(err)) => {
            assert_eq!(err.code, Code::PermissionDenied as i32, "{err:?}")
        }
        other => panic!("A streamed an event for B: {other:?}"),
    }
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_ids_are_per_tenant_and_cannot_be_taken_in_advance() -> anyhow::Result<()> {
    let mut cfg = gate();
    cfg.rate_per_sec = 0;
    let env = TestEnv::start_authenticated(1, cfg).await?;
    let a = env.create_key(A, &["ingest", "query"]).await?;
    let b = env.create_key(B, &["ingest", "query"]).await?;
    let mut a_in = IngestServiceClient::new(env.keyed(&a).await?);
    let mut b_in = IngestServiceClient::new(env.keyed(&b).await?);
    let shared = uuid::Uuid::now_v7();
    let with_id = |lead: &str| {
        let mut e = event(
            lead,
            "webform",
            "",
            at(4, 1, 9),
            captured(lead, "x", at(4, 1, 9), "seo")
                .payload
                .expect("payload"),
        );
        e.event_id = shared.to_string();
        e
    };
    // Both tenants send an event with the same UUID: both are kept.
    let ack_a = a_in
        .append(pb::AppendRequest {
            tenant_id: String::new(),
            events: vec![with_id("A-1")],
        })
        .await?
        .into_inner();
    let ack_b = b_in
        .append(pb::AppendRequest {
            tenant_id: String::new(),
            events: vec![with_id("B-1")],
        })
        .await?
        .into_inner();
    assert_ne!(ack_a.acks[0].event_id, ack_b.acks[0].event_id);
    // A retry with the same UUID is the same event.
    let again = a_in
        .append(pb::AppendRequest {
            tenant_id: String::new(),
            events: vec![with_id("A-1")],
        })
        .await?
        .into_inner();
    assert_eq!(again.acks[0].event_id, ack_a.acks[0].event_id);

    // A computes the id B's CRM fact will get and sends it first as its own UUID.
    let victim = leadledger_domain::ids::source_event_id(B, "hubspot", "deal-42");
    let mut pre = with_id("A-2");
    pre.event_id = victim.to_string();
    a_in.append(pb::AppendRequest {
        tenant_id: String::new(),
        events: vec![pre],
    })
    .await?;
    // A reserved source system is refused.
    let mut forged = captured("A-3", "claim-x", at(4, 1, 9), "seo");
    forged.source.as_mut().expect("source").system = "leadledger.ownership".into();
    let err = a_in
        .append(pb::AppendRequest {
            tenant_id: String::new(),
            events: vec![forged],
        })
        .await
        .expect_err("reserved system");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    // Then B's real fact arrives, and B's lead exists.
    let token = b_in
        .append(pb::AppendRequest {
            tenant_id: String::new(),
            events: vec![captured("B-42", "deal-42", at(4, 2, 9), "seo").tap_source("hubspot")],
        })
        .await?
        .into_inner()
        .consistency_token;
    let mut b_q = QueryServiceClient::new(env.keyed(&b).await?);
    let mut req = Request::new(pb::GetLeadRequest {
        lead_id: "B-42".into(),
        consistency_token: token,
        ..Default::default()
    });
    req.set_timeout(Duration::from_secs(20));
    let lead = b_q.get_lead(req).await?.into_inner();
    assert!(lead.lead.is_some());
    let per_tenant: Vec<(String, i64)> = sqlx::query_as(
        "SELECT tenant_id, count(*) FROM lead_events GROUP BY tenant_id ORDER BY tenant_id",
    )
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(per_tenant, [(A.to_string(), 2), (B.to_string(), 2)]);
    env.cleanup().await
}

/// Sets an event's source system.
trait TapSource {
    fn tap_source(self, system: &str) -> Self;
}

impl TapSource for pb::Event {
    fn tap_source(mut self, system: &str) -> Self {
        if let Some(s) = self.source.as_mut() {
            s.system = system.into();
        }
        self
    }
}

/// Collects a server stream.
trait CollectAll<T> {
    async fn collect_all(self) -> Result<Vec<T>, Status>;
}

impl<T> CollectAll<T> for tonic::Streaming<T> {
    async fn collect_all(mut self) -> Result<Vec<T>, Status> {
        let mut out = Vec::new();
        while let Some(m) = self.message().await? {
            out.push(m);
        }
        Ok(out)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_watch_does_not_hold_the_shutdown() -> anyhow::Result<()> {
    // A WatchSla subscriber never ends its stream; the drain (5 s in the harness) cuts it.
    let env = TestEnv::start_authenticated(1, gate()).await?;
    let key = env.create_key(A, &["query"]).await?;
    let mut sla = SlaServiceClient::new(env.keyed(&key).await?);
    let mut watch = sla
        .watch_sla(pb::WatchSlaRequest::default())
        .await?
        .into_inner();
    let started = Instant::now();
    env.cleanup().await?;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "shutdown took {took:?}");
    // The subscriber sees its stream end (an error or the end), not silence.
    let end = tokio::time::timeout(Duration::from_secs(5), watch.message()).await;
    assert!(end.is_ok(), "the stream was left open after the shutdown");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_count_against_the_keys_limits_until_they_end() -> anyhow::Result<()> {
    let env = TestEnv::start_authenticated(
        1,
        GateConfig {
            open_health: true,
            rate_per_sec: 20,
            burst: 20,
            concurrency: 2,
        },
    )
    .await?;
    // Concurrency: two open WatchSla streams hold the key's two slots.
    let key = env.create_key(A, &["query"]).await?;
    let ch = env.keyed(&key).await?;
    let mut sla = SlaServiceClient::new(ch.clone());
    let first = sla.watch_sla(pb::WatchSlaRequest::default()).await?;
    let second = sla.watch_sla(pb::WatchSlaRequest::default()).await?;
    let mut q = QueryServiceClient::new(ch.clone());
    let err = q
        .funnel(pb::FunnelRequest::default())
        .await
        .expect_err("a third call while two streams are open");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    drop(first);
    drop(second);
    let freed = Instant::now();
    while let Err(e) = q.funnel(pb::FunnelRequest::default()).await {
        assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
        assert!(
            freed.elapsed() < Duration::from_secs(5),
            "slots not freed: {e:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Rate: each streamed event counts; the ones over the limit are refused one by one and
    // the log moves by exactly the acked ones.
    let ingest_key = env.create_key(A, &["ingest"]).await?;
    let mut ingest = IngestServiceClient::new(env.keyed(&ingest_key).await?);
    let topic = env.log.topic.clone();
    let before: i64 = env.end_offsets(&topic)?.iter().sum();
    let msgs: Vec<pb::StreamEventsRequest> = (0..60)
        .map(|i| pb::StreamEventsRequest {
            tenant_id: String::new(),
            event: Some(captured(
                &format!("S-{i}"),
                &format!("s-{i}"),
                at(4, 1, 9),
                "seo",
            )),
        })
        .collect();
    let replies = ingest
        .stream_events(tokio_stream::iter(msgs))
        .await?
        .into_inner()
        .collect_all()
        .await?;
    assert_eq!(replies.len(), 60);
    let (mut acked, mut exhausted) = (0i64, 0);
    for r in &replies {
        match &r.result {
            Some(pb::stream_events_response::Result::Ack(_)) => acked += 1,
            Some(pb::stream_events_response::Result::Error(e)) => {
                assert_eq!(e.code, Code::ResourceExhausted as i32, "{e:?}");
                exhausted += 1;
            }
            None => panic!("an empty reply"),
        }
    }
    assert!(exhausted > 0, "60 streamed events never hit a 20/s limit");
    assert!(acked > 0);
    let after: i64 = env.end_offsets(&topic)?.iter().sum();
    assert_eq!(after - before, acked, "refused events were appended");
    env.cleanup().await
}
