//! Erasing a person without breaking the log (issue 18, docs/PRIVACY.md), against the real
//! broker and PostgreSQL: contacts reach the log sealed, `EraseContact` destroys the keys
//! and appends the fact, the read models drop the personal fields while every figure stays,
//! no clear copy of an erased contact is left in the database (nor, since sealing, in the
//! topic), and a replay from offset 0 gives the same rows, with or without the keys.

use std::collections::BTreeMap;
use std::time::Duration;

use leadledger_api::pb::attribution_service_client::AttributionServiceClient;
use leadledger_api::pb::privacy_service_client::PrivacyServiceClient;
use leadledger_api::pb::{self, event::Payload};
use leadledger_e2e::events::{accepted, at, captured, event, mql, signed};
use leadledger_e2e::{
    append, assert_same_rows, dump_read_models, produce_raw, unique, violation_fields, TestEnv,
};
use prost::Message as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message as _;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tonic::Code;

const T: &str = "acme";

/// A capture of `lead` whose contact has `email` and no company domain: the account key is
/// the e-mail's domain (what an erasure must keep).
fn captured_as(lead: &str, src: &str, email: &str, channel: &str) -> pb::Event {
    let mut e = captured(lead, src, at(4, 1, 9), channel);
    if let Some(Payload::LeadCaptured(c)) = &mut e.payload {
        c.contact = Some(pb::Contact {
            email: email.into(),
            phone: "+86 21 5555 0142".into(),
            name: format!("Person {lead}"),
            title: "Head of Data".into(),
        });
        if let Some(company) = &mut c.company {
            company.domain = String::new();
        }
    }
    e
}

/// Every record value of the topic.
fn topic_values(env: &TestEnv) -> anyhow::Result<Vec<Vec<u8>>> {
    let ends = env.end_offsets(&env.log.topic)?;
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &env.log.brokers)
        .set("group.id", format!("privacy-read-{}", unique()))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..ends.len() {
        tpl.add_partition_offset(&env.log.topic, i32::try_from(p)?, Offset::Beginning)?;
    }
    c.assign(&tpl)?;
    let want: i64 = ends.iter().sum();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while i64::try_from(out.len())? < want {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "read {} of {want} records",
            out.len()
        );
        if let Some(m) = c.poll(Duration::from_millis(200)) {
            out.push(m?.payload().unwrap_or_default().to_vec());
        }
    }
    Ok(out)
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Rows of every table of the database's schema that hold `needle` (in text, or as the hex
/// of its bytes in a `bytea`), as `table: count`.
async fn rows_holding(env: &TestEnv, needle: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()",
    )
    .fetch_all(&env.store.pool)
    .await?;
    assert!(tables.len() > 20, "{tables:?}");
    let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {t} x WHERE position(lower($1) in lower(x::text)) > 0 \
             OR position($2 in x::text) > 0"
        ))
        .bind(needle)
        .bind(&hex)
        .fetch_one(&env.store.pool)
        .await?;
        if n > 0 {
            out.insert(t, n);
        }
    }
    Ok(out)
}

/// The figures an erasure must not move: the funnel, attribution at contact and account
/// level, and the read models without the contact columns.
async fn figures(env: &TestEnv) -> anyhow::Result<Vec<String>> {
    let mut q = env.query().await?;
    let mut out = vec![format!(
        "{:?}",
        q.funnel(pb::FunnelRequest {
            tenant_id: T.into(),
            group_by: vec![pb::FunnelDimension::Channel as i32],
            ..Default::default()
        })
        .await?
        .into_inner()
        .groups
    )];
    let mut a = AttributionServiceClient::connect(format!("http://{}", env.addr)).await?;
    for level in [pb::AttributionLevel::Contact, pb::AttributionLevel::Account] {
        for model in ["linear", "markov"] {
            let r = a
                .attribution(pb::AttributionRequest {
                    tenant_id: T.into(),
                    model: model.into(),
                    level: level as i32,
                    conversion: pb::ConversionKind::Revenue as i32,
                    currency: "CNY".into(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            out.push(format!(
                "{model} {level:?}: {} {} {:?}",
                r.total, r.conversions, r.groups
            ));
        }
    }
    out.extend(without_contacts(env).await?);
    Ok(out)
}

/// The read models with the leads, their duplicate keys and timeline rows (which hold the
/// contact and the erasure fact) and the checkpoints (which the erasure facts move) left out.
async fn without_contacts(env: &TestEnv) -> anyhow::Result<Vec<String>> {
    Ok(dump_read_models(&env.store)
        .await?
        .into_iter()
        .filter(|r| {
            ![
                "leads: ",
                "lead_match_keys: ",
                "lead_events: ",
                "projector_checkpoints: ",
            ]
            .iter()
            .any(|t| r.starts_with(t))
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_contact_is_unreadable_everywhere_and_the_figures_stay() -> anyhow::Result<()> {
    let mut env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    let u = unique();
    let erased = format!("zhao.lei.{u}@globex.example");
    let kept = format!("qian.min.{u}@initech.example");
    let old = format!("sun.li.{u}@umbrella.example");
    // Two sealed leads, both signed; the one erased has its account from its e-mail domain.
    append(
        &mut ingest,
        T,
        vec![
            captured_as("L-ERASED", "c1", &erased, "webinar"),
            mql("L-ERASED", "m1", at(4, 3, 10)),
            accepted("L-ERASED", "a1", at(4, 4, 11), "rep-07"),
            signed("L-ERASED", "s1", at(5, 20, 12), 12_345_600),
            captured_as("L-KEPT", "c2", &kept, "website"),
            mql("L-KEPT", "m2", at(4, 5, 10)),
            signed("L-KEPT", "s2", at(5, 21, 12), 2_000_000),
        ],
    )
    .await?;
    // A capture from before sealing (schema version 1, the contact in clear), produced
    // straight to the topic as an older leadledger wrote it.
    let mut v1 = captured_as("L-OLD", "c3", &old, "event");
    v1.tenant_id = T.into();
    v1.event_id = uuid::Uuid::new_v4().to_string();
    v1.recorded_at = v1.occurred_at;
    v1.schema_version = 1;
    v1.event_type = "lead_captured".into();
    produce_raw(
        &env.log.brokers,
        &env.log.topic,
        "L-OLD",
        &v1.encode_to_vec(),
        None,
    )
    .await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;

    // Sealed: the log holds no clear contact of the leads captured through ingest.
    let values = topic_values(&env)?;
    assert_eq!(values.len(), 8);
    for clear in [&erased, &kept, "Person L-ERASED", "5555 0142"] {
        let n = values.iter().filter(|v| holds(v, clear)).count();
        // Only the version-1 record holds its (own) phone.
        let want = usize::from(clear == "5555 0142");
        assert_eq!(n, want, "{clear} in {n} records");
    }
    assert!(values.iter().any(|v| holds(v, &old)), "the v1 record");
    // The read models do hold it, opened with the key.
    let mut q = env.query().await?;
    let get = |lead: &str| pb::GetLeadRequest {
        tenant_id: T.into(),
        lead_id: lead.into(),
        consistency_token: String::new(),
    };
    let lead = q
        .get_lead(get("L-ERASED"))
        .await?
        .into_inner()
        .lead
        .unwrap();
    let c = lead.contact.unwrap();
    assert_eq!(
        (c.email.as_str(), c.name.as_str()),
        (erased.as_str(), "Person L-ERASED")
    );
    assert_eq!(c.title, "Head of Data");
    assert!(lead.contact_erased_at.is_none());
    let before = figures(&env).await?;
    assert!(!rows_holding(&env, &erased).await?.is_empty());

    // Refused requests append nothing.
    let mut privacy = PrivacyServiceClient::connect(format!("http://{}", env.addr)).await?;
    let erase = |lead: &str, request_id: &str| pb::EraseContactRequest {
        tenant_id: T.into(),
        lead_id: lead.into(),
        requested_by: "dpo@acme.example".into(),
        reason: "GDPR art. 17 request 2026-118".into(),
        request_id: request_id.into(),
    };
    let e = privacy
        .erase_contact(pb::EraseContactRequest {
            requested_by: String::new(),
            reason: "x".repeat(501),
            ..erase("", "")
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&e), ["lead_id", "requested_by", "reason"]);
    let e = privacy
        .erase_contact(erase("L-NOBODY", ""))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let ends = env.end_offsets(&env.log.topic)?;
    assert_eq!(ends.iter().sum::<i64>(), 8, "a refused erasure appended");

    // Erase the sealed contact and the clear one; retry the first.
    let first = privacy
        .erase_contact(erase("L-ERASED", "req-1"))
        .await?
        .into_inner();
    assert_eq!(first.keys_destroyed, 1);
    let retry = privacy
        .erase_contact(erase("L-ERASED", "req-1"))
        .await?
        .into_inner();
    assert_eq!(
        (retry.keys_destroyed, &retry.event_id),
        (0, &first.event_id)
    );
    let old_erased = privacy
        .erase_contact(erase("L-OLD", "req-2"))
        .await?
        .into_inner();
    assert_eq!(old_erased.keys_destroyed, 0, "a clear capture has no key");
    env.wait_caught_up(Duration::from_secs(60)).await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;

    for (id, token) in [
        ("L-ERASED", &retry.consistency_token),
        ("L-OLD", &old_erased.consistency_token),
    ] {
        let lead = q
            .get_lead(pb::GetLeadRequest {
                consistency_token: token.clone(),
                ..get(id)
            })
            .await?
            .into_inner();
        let l = lead.lead.unwrap();
        assert_eq!(l.contact.unwrap(), pb::Contact::default(), "{id}");
        assert!(l.contact_erased_at.is_some(), "{id}");
        let erasures = lead
            .timeline
            .iter()
            .filter(|t| t.event_type == "contact_erased")
            .count();
        assert_eq!(erasures, 1, "{id}: the retry is one fact");
    }
    let kept_lead = q.get_lead(get("L-KEPT")).await?.into_inner().lead.unwrap();
    assert_eq!(kept_lead.contact.unwrap().email, kept);

    // The figures did not move.
    let after = figures(&env).await?;
    assert_same_rows(&after, &before, "figures after the erasure");
    // No clear copy of either erased contact in any table: not in `leads`, not in the
    // timeline rows (the v1 capture's were rewritten), not in the dead letters.
    for clear in [&erased, &old, "Person L-ERASED", "Person L-OLD"] {
        assert_eq!(rows_holding(&env, clear).await?, BTreeMap::new(), "{clear}");
    }
    assert!(!rows_holding(&env, &kept).await?.is_empty());
    // The topic: the sealed contact's records are unchanged and unreadable without the key;
    // the version-1 record keeps its clear contact (docs/PRIVACY.md, "Before sealing").
    let values = topic_values(&env)?;
    assert!(!values.iter().any(|v| holds(v, &erased)));
    assert!(values.iter().any(|v| holds(v, &old)));

    // A replay from offset 0 (with the keys, as a rebuild reads them) gives the same rows.
    let live = dump_read_models(&env.store).await?;
    let replayed = env.replay("privacy-replay").await?;
    assert_same_rows(
        &dump_read_models(&replayed).await?,
        &live,
        "replay after the erasure",
    );
    // A database restored without its keys: the same rows but the contacts of the sealed
    // leads, which are empty (not an error); the figures are the same.
    let lost = env.replay_keys("privacy-keyless", false).await?;
    let email_of = |store: &leadledger_store::Store, lead: &'static str| {
        let pool = store.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT email FROM leads WHERE tenant_id = 'acme' AND lead_id = $1",
            )
            .bind(lead)
            .fetch_one(&pool)
            .await
        }
    };
    assert_eq!(email_of(&lost, "L-KEPT").await?, "");
    assert_eq!(email_of(&env.store, "L-KEPT").await?, kept);
    let strip = |rows: Vec<String>| -> Vec<String> {
        rows.into_iter()
            .filter(|r| !r.starts_with("leads: ") && !r.starts_with("lead_match_keys: "))
            .collect()
    };
    assert_same_rows(
        &strip(dump_read_models(&lost).await?),
        &strip(live),
        "replay without keys",
    );
    // An erasure needs the fact kind leadledger writes itself: a client cannot append one.
    let forged = event(
        "L-KEPT",
        "crm",
        "forged-1",
        at(6, 1, 9),
        Payload::ContactErased(pb::ContactErased::default()),
    );
    let e = append(&mut ingest, T, vec![forged]).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    env.cleanup().await
}
