//! HTTP/JSON beside gRPC (crates/grpc/src/json.rs), proven with curl over HTTP/1.1 against
//! the real server with the authentication gate: the documented HubSpot-style capture
//! (docs/examples/hubspot-capture-lead.json) is appended once however often it is posted and
//! reads back through `GetLead`; a bad request gets the same field violations as over gRPC,
//! as `google.rpc.Status` JSON; no key is 401; streams are gRPC only.

use std::path::Path;

use leadledger_api::pb::{self, ingest_service_client::IngestServiceClient};
use leadledger_e2e::{violation_fields, TestEnv};
use leadledger_grpc::auth::GateConfig;
use serde_json::Value;

const T: &str = "acme";

/// POSTs `body` as JSON to `/<path>` over HTTP/1.1 with curl; the HTTP status and the JSON.
async fn post(
    env: &TestEnv,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> anyhow::Result<(u16, Value)> {
    let url = format!("http://{}/{path}", env.addr);
    let auth = key.map(|k| format!("Authorization: Bearer {k}"));
    let body = body.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut cmd = std::process::Command::new("curl");
        cmd.args(["-sS", "--http1.1", "-X", "POST"]);
        cmd.args(["-H", "Content-Type: application/json"]);
        if let Some(a) = &auth {
            cmd.args(["-H", a]);
        }
        cmd.args(["--data-binary", "@-", "-w", "\n%{http_code}", &url]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn()?;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(body.as_bytes())?;
        let out = child.wait_with_output()?;
        anyhow::ensure!(out.status.success(), "curl failed: {out:?}");
        let text = String::from_utf8(out.stdout)?;
        let (json, code) = text.rsplit_once('\n').expect("a status line");
        Ok((code.trim().parse()?, serde_json::from_str(json)?))
    })
    .await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_captures_a_lead_over_http_json_with_the_same_rules_as_grpc() -> anyhow::Result<()>
{
    let env = TestEnv::start_authenticated(
        1,
        GateConfig {
            open_health: true,
            rate_per_sec: 50,
            burst: 50,
            concurrency: 100,
        },
    )
    .await?;
    let key = env.create_key(T, &["ingest", "query"]).await?;
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/hubspot-capture-lead.json"),
    )?;
    let capture = "leadledger.v1.IngestService/CaptureLead";

    // The documented webhook body, posted twice (a sender's retry): one capture.
    let (status, first) = post(&env, capture, Some(&key), &example).await?;
    assert_eq!(status, 200, "{first}");
    let token = first["consistencyToken"]
        .as_str()
        .expect("a token")
        .to_string();
    let event_id = first["ack"]["eventId"]
        .as_str()
        .expect("an event id")
        .to_string();
    let (status, again) = post(&env, capture, Some(&key), &example).await?;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["ack"]["eventId"].as_str(), Some(event_id.as_str()));

    // It reads back, for the key's tenant, with every field of the body.
    let ask = serde_json::json!({"leadId": "hubspot-contact-9051", "consistencyToken": token});
    let (status, got) = post(
        &env,
        "leadledger.v1.QueryService/GetLead",
        Some(&key),
        &ask.to_string(),
    )
    .await?;
    assert_eq!(status, 200, "{got}");
    let lead = &got["lead"];
    assert_eq!(lead["tenantId"], T);
    assert_eq!(lead["stage"], "STAGE_CAPTURED");
    assert_eq!(lead["company"]["region"], "华东");
    assert_eq!(lead["company"]["segment"], "SEGMENT_KA");
    assert_eq!(lead["source"]["utmCampaign"], "q4-smart-factory");
    assert_eq!(lead["capturedAt"], "2026-11-30T09:15:00Z");
    assert_eq!(lead["eventCount"], 1, "the retry appended nothing: {lead}");

    // A bad capture: the field violations gRPC gives, as google.rpc.Status JSON.
    let bad = serde_json::json!({
        "leadId": "",
        "sourceSystem": "hubspot",
        "lead": {"contact": {"email": "not-an-email"}, "source": {"channel": "Web Site"}}
    });
    let (status, err) = post(&env, capture, Some(&key), &bad.to_string()).await?;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["code"], 3);
    assert_eq!(
        err["details"][0]["@type"],
        "type.googleapis.com/google.rpc.BadRequest"
    );
    let over_http: Vec<String> = err["details"][0]["fieldViolations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| v["field"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut grpc = IngestServiceClient::new(env.keyed(&key).await?);
    let request: pb::CaptureLeadRequest = pb::CaptureLeadRequest {
        lead_id: String::new(),
        source_system: "hubspot".into(),
        lead: Some(pb::LeadCaptured {
            contact: Some(pb::Contact {
                email: "not-an-email".into(),
                ..Default::default()
            }),
            source: Some(pb::LeadSource {
                channel: "Web Site".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let status_grpc = grpc.capture_lead(request).await.expect_err("refused");
    assert_eq!(over_http, violation_fields(&status_grpc));
    assert!(over_http.len() >= 2, "{over_http:?}");

    // Not JSON of the request type, no key, a stream, no such method.
    let (status, err) = post(&env, capture, Some(&key), r#"{"leadId": "x", "nope": 1}"#).await?;
    assert_eq!((status, err["code"].as_i64()), (400, Some(3)), "{err}");
    assert!(
        err["message"].as_str().unwrap_or_default().contains("nope"),
        "{err}"
    );
    let (status, err) = post(&env, capture, None, &example).await?;
    assert_eq!((status, err["code"].as_i64()), (401, Some(16)), "{err}");
    let (status, err) = post(&env, "leadledger.v1.SlaService/WatchSla", Some(&key), "{}").await?;
    assert_eq!((status, err["code"].as_i64()), (501, Some(12)), "{err}");
    let (status, _) = post(&env, "leadledger.v1.QueryService/Nope", Some(&key), "{}").await?;
    assert_eq!(status, 501);
    env.cleanup().await
}
