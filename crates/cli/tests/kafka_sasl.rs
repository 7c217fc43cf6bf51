//! Kafka SASL/SCRAM against a real broker (issue 15, TLS and SASL on every hop): a private
//! Tansu broker with `--authentication` (every request but the handshake needs a SASL/SCRAM
//! login against the credentials in its storage), a user created through the Kafka API
//! (`AlterUserScramCredentials`, by Python's confluent-kafka in
//! `scripts/kafka-scram-user.py`), and the real `leadledger serve --role ingest` configured
//! with `kafka.properties` and `kafka.sasl_password_file`:
//!
//! - it creates its topics and appends through the authenticated connection, and the records
//!   read back through SASL are the acked events;
//! - a client without SASL, and leadledger with a wrong password, get nothing in or out;
//!   the latter stops at start with librdkafka's reason (`LogError::Authentication`)
//!   instead of waiting out the admin request's timeout.
//!
//! TLS to Kafka cannot be proven against Tansu 0.6.0: its broker builds a TLS acceptor from
//! `--cert`/`--key` and never uses it (`tansu-broker` 0.6.0, `broker.rs`, `let _acceptor`),
//! so connections stay plaintext; docs/SECURITY.md says so.

use std::process::Command;
use std::time::Duration;

use leadledger_api::pb::{self, ingest_service_client::IngestServiceClient};
use leadledger_e2e::events::{at, captured};
use leadledger_e2e::process::{test_dir, Leadledger, Tansu};
use leadledger_e2e::{database_name, pg_server, unique};
use leadledger_store::Store;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const BIN: &str = env!("CARGO_BIN_EXE_leadledger");
const TMP: &str = env!("CARGO_TARGET_TMPDIR");
const USER: &str = "leadledger";
const SASL: &str =
    "security.protocol=sasl_plaintext,sasl.mechanism=SCRAM-SHA-256,sasl.username=leadledger";

/// A consumer of `brokers` with `props` (`k=v,k=v`).
fn consumer(brokers: &str, props: &str, password: Option<&str>) -> anyhow::Result<BaseConsumer> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("group.id", format!("sasl-{}", unique()))
        .set("enable.auto.commit", "false");
    for kv in props.split(',').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').expect("k=v");
        c.set(k, v);
    }
    if let Some(p) = password {
        c.set("sasl.password", p);
    }
    Ok(c.create()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadledger_appends_through_sasl_scram_and_nothing_passes_without_it() -> anyhow::Result<()>
{
    let dir = test_dir(TMP, "kafka-sasl")?;
    let password = format!("pw-{}", unique());
    let password_file = dir.join("sasl.password");
    std::fs::write(&password_file, &password)?;
    let wrong_file = dir.join("wrong.password");
    std::fs::write(&wrong_file, "not-the-password")?;

    // The credential is made through the Kafka API while the broker is still open, then the
    // broker starts again on the same storage with authentication required.
    let mut open = Tansu::start(&dir).await?;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/kafka-scram-user.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .args([&open.brokers(), USER])
        .arg(&password_file)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "kafka-scram-user.py: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    open.kill9()?;
    let broker = Tansu::start_with(&dir, &["--authentication"]).await?;

    let topic = format!("sasl.{}", unique());
    // A database of its own: the default one (`leadledger` on this host) may hold another
    // version's migrations (a process of an older checkout), which stops the child at start.
    let db_url = format!("{}/{}", pg_server(), database_name("sasl"));
    Store::create_database(&db_url).await?;
    let settings = |pw: &std::path::Path| {
        vec![
            ("database.url", db_url.clone()),
            ("kafka.brokers", broker.brokers()),
            ("kafka.topic", topic.clone()),
            ("kafka.partitions", "1".to_string()),
            ("kafka.headers", "false".to_string()),
            ("kafka.properties", SASL.to_string()),
            ("kafka.sasl_password_file", pw.display().to_string()),
            ("auth.mode", "none".to_string()),
        ]
    };
    let mut server = Leadledger::new(BIN, "ingest", "ingest", &settings(&password_file), &dir)?;
    server.start().await?;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))?
        .connect()
        .await?;
    let acked = IngestServiceClient::new(channel)
        .append(pb::AppendRequest {
            tenant_id: "acme".into(),
            events: (0..3)
                .map(|i| captured(&format!("L-{i}"), &format!("s-{i}"), at(3, 1, 9), "webinar"))
                .collect(),
        })
        .await?
        .into_inner();
    let mut acked: Vec<String> = acked.acks.into_iter().map(|a| a.event_id).collect();
    acked.sort();
    assert_eq!(acked.len(), 3);
    drop(server);

    // Read back through SASL: exactly the acked events.
    let brokers = broker.brokers();
    let (t, pw) = (topic.clone(), password.clone());
    let read = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let c = consumer(&brokers, SASL, Some(&pw))?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&t, 0, Offset::Beginning)?;
        c.assign(&tpl)?;
        let mut ids = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while ids.len() < 3 && std::time::Instant::now() < deadline {
            if let Some(m) = c.poll(Duration::from_millis(200)) {
                let m = m?;
                let e = leadledger_api::record::decode(m.payload())?;
                ids.push(e.event_id);
            }
        }
        Ok(ids)
    })
    .await??;
    let mut read = read;
    read.sort();
    assert_eq!(
        read, acked,
        "the records read through SASL are the acked events"
    );

    // Without SASL the broker answers nothing but the handshake.
    let brokers = broker.brokers();
    let t = topic.clone();
    let plain = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
        let c = consumer(&brokers, "", None)?;
        Ok(c.fetch_metadata(Some(&t), Duration::from_secs(5)).is_ok())
    })
    .await??;
    assert!(!plain, "metadata served to a client without SASL");

    // A wrong password: the process stops at start, within seconds, saying why (it used to
    // wait out the admin request's timeout with nothing in its log).
    let mut wrong = Leadledger::new(BIN, "ingest-wrong", "ingest", &settings(&wrong_file), &dir)?;
    let started = std::time::Instant::now();
    let refused = wrong
        .start()
        .await
        .expect_err("started with a wrong SASL password");
    let took = started.elapsed();
    let log = wrong.proc.log_tail(400);
    assert!(
        log.contains("the broker refused leadledger's credentials") && log.contains("SASL"),
        "refused for another reason: {refused:#}\n{log}"
    );
    assert!(took < Duration::from_secs(15), "refused after {took:?}");
    Store::drop_database(&db_url).await?;
    Ok(())
}
