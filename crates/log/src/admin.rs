//! Explicit topic creation. Topics are created at start by the roles that need them;
//! "already exists" is success.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use crate::{LogConfig, LogError};

/// Creates the events topic and its dead-letter topic if they do not exist.
pub async fn ensure_topics(cfg: &LogConfig) -> Result<(), LogError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &cfg.brokers)
        .create()?;
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
