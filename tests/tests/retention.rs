//! The log is never deleted, against the dev broker: leadledger creates its topics with
//! unlimited retention and the `delete` policy, and an events topic that already exists with
//! settings that lose events (finite retention, compaction, fewer partitions than
//! configured) stops the process at start with the setting and the fix named — unless
//! `kafka.topic_check = warn`. A setting the broker does not report is only a warning.

use std::time::Duration;

use leadledger_e2e::{brokers, unique};
use leadledger_log::admin::ensure_topics;
use leadledger_log::config::TopicCheck;
use leadledger_log::{LogConfig, LogError};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

fn admin() -> anyhow::Result<AdminClient<DefaultClientContext>> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()?)
}

fn log(topic: &str, partitions: i32) -> LogConfig {
    LogConfig {
        brokers: brokers(),
        topic: topic.to_string(),
        partitions,
        headers: false,
        ..LogConfig::default()
    }
}

/// Creates `topic` the way an operator (or a broker's auto-creation) might have.
async fn precreate(topic: &str, partitions: i32, configs: &[(&str, &str)]) -> anyhow::Result<()> {
    let t = configs.iter().fold(
        NewTopic::new(topic, partitions, TopicReplication::Fixed(1)),
        |t, (k, v)| t.set(k, v),
    );
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for r in admin()?.create_topics(&[t], &opts).await? {
        r.map_err(|(t, code)| anyhow::anyhow!("creating {t}: {code}"))?;
    }
    Ok(())
}

/// The settings of `topic` as the broker describes them.
async fn described(topic: &str) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let mut out = Vec::new();
    for r in admin()?
        .describe_configs(&[ResourceSpecifier::Topic(topic)], &opts)
        .await?
    {
        let r = r.map_err(|code| anyhow::anyhow!("describing {topic}: {code}"))?;
        out.extend(r.entries.into_iter().map(|e| (e.name, e.value)));
    }
    Ok(out)
}

fn unfit(result: Result<(), LogError>) -> String {
    match result {
        Err(e @ LogError::UnfitTopic { .. }) => e.to_string(),
        other => panic!("expected the topic to be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn topics_are_created_to_keep_every_event() -> anyhow::Result<()> {
    let topic = format!("ret{}.events", unique());
    let cfg = log(&topic, 3);
    ensure_topics(&cfg).await?;
    for t in [topic.clone(), cfg.dead_letter_topic()] {
        let got = described(&t).await?;
        for (k, v) in [
            ("retention.ms", "-1"),
            ("retention.bytes", "-1"),
            ("min.insync.replicas", "1"),
        ] {
            assert!(
                got.iter()
                    .any(|(n, val)| n == k && val.as_deref() == Some(v)),
                "{t}: {k} = {v} expected, the broker describes {got:?}"
            );
        }
        // Left to the broker (`delete` on Kafka): set on Tansu, it deletes every record.
        assert!(
            !got.iter()
                .any(|(n, v)| n == "cleanup.policy" && v.as_deref() != Some("delete")),
            "{t}: {got:?}"
        );
    }
    // Starting again on the topic it made is fine (every role of every restart does).
    ensure_topics(&cfg).await?;
    Ok(())
}

#[tokio::test]
async fn an_existing_topic_that_loses_events_stops_the_start() -> anyhow::Result<()> {
    // Apache Kafka's default: 7 days.
    let week = format!("ret{}.events", unique());
    precreate(&week, 3, &[("retention.ms", "604800000")]).await?;
    let e = unfit(ensure_topics(&log(&week, 3)).await);
    assert!(e.contains("retention.ms = 604800000"), "{e}");
    assert!(e.contains("retention.ms=-1"), "the fix is named: {e}");
    assert!(
        e.contains("kafka.topic_check = warn"),
        "the override is named: {e}"
    );

    let compacted = format!("ret{}.events", unique());
    precreate(
        &compacted,
        3,
        &[("cleanup.policy", "compact"), ("retention.ms", "-1")],
    )
    .await?;
    let e = unfit(ensure_topics(&log(&compacted, 3)).await);
    assert!(e.contains("cleanup.policy = compact"), "{e}");

    let narrow = format!("ret{}.events", unique());
    let unlimited = [
        ("retention.ms", "-1"),
        ("retention.bytes", "-1"),
        ("cleanup.policy", "delete"),
    ];
    precreate(&narrow, 2, &unlimited).await?;
    let e = unfit(ensure_topics(&log(&narrow, 6)).await);
    assert!(e.contains("2 partitions, kafka.partitions = 6"), "{e}");
    // More partitions than configured is not a problem.
    ensure_topics(&log(&narrow, 2)).await?;

    // A topic whose settings the broker does not report (the dev broker reports only those
    // a topic was created with) starts, with a warning: nothing shows that it loses events.
    let silent = format!("ret{}.events", unique());
    precreate(&silent, 3, &[]).await?;
    ensure_topics(&log(&silent, 3)).await?;

    // The explicit override starts anyway (with a warning in the log).
    let mut warn = log(&week, 3);
    warn.topic_check = TopicCheck::Warn;
    ensure_topics(&warn).await?;
    Ok(())
}
