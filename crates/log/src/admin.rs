//! Explicit topic creation (topics are created at start by the roles that need them;
//! "already exists" is success) and the end offsets of a topic.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{Client, ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use crate::{LogConfig, LogError};

/// Creates the events topic and its dead-letter topic if they do not exist.
pub async fn ensure_topics(cfg: &LogConfig) -> Result<(), LogError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.brokers);
    crate::config::apply_properties(&mut c, &cfg.properties);
    let admin: AdminClient<DefaultClientContext> = c.create()?;
    let dlq = cfg.dead_letter_topic();
    let topics = [
        NewTopic::new(
            &cfg.topic,
            cfg.partitions,
            TopicReplication::Fixed(cfg.replication),
        ),
        NewTopic::new(&dlq, 1, TopicReplication::Fixed(cfg.replication)),
    ];
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&topics, &opts).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(LogError::Admin(format!("creating {topic}: {code}")));
            }
        }
    }
    Ok(())
}

/// The partitions of `topic` the broker knows now (one metadata request; empty if the topic
/// has none). Blocking: call it from a blocking thread.
pub fn partitions<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<i32>, LogError> {
    let md = client.fetch_metadata(Some(topic), timeout)?;
    Ok(md
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect())
}

/// The end offset (high watermark) of every partition of `topic`, as the broker reports it
/// now, asked through any client (a producer's, a consumer's). Empty if the topic has no
/// partitions. Blocking: call it from a blocking thread.
pub fn end_offsets<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    timeout: Duration,
) -> Result<BTreeMap<i32, i64>, LogError> {
    partitions(client, topic, timeout)?
        .into_iter()
        .map(|p| {
            let (_, high) = client.fetch_watermarks(topic, p, timeout)?;
            Ok((p, high))
        })
        .collect()
}
