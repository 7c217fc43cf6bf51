//! Explicit topic creation (topics are created at start by the roles that need them, with
//! unlimited retention; "already exists" is success, once the existing topic's settings pass
//! [`crate::retention::check`]) and the end offsets of a topic.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::{Client, ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use crate::config::TopicCheck;
use crate::{retention, LogConfig, LogError};

/// Creates the events topic and its dead-letter topic if they do not exist, with unlimited
/// retention ([`crate::retention`]), then checks the events topic as the broker describes
/// it: finite retention, compaction or fewer partitions than configured is
/// [`LogError::UnfitTopic`] (only a warning with `topic_check = warn`); a setting the broker
/// does not report is a warning.
pub async fn ensure_topics(cfg: &LogConfig) -> Result<(), LogError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.brokers);
    crate::config::apply_properties(&mut c, &cfg.properties);
    let admin: AdminClient<DefaultClientContext> = c.create()?;
    let dlq = cfg.dead_letter_topic();
    let configs = retention::creation_configs(cfg.min_insync_replicas);
    // Dead letters are kept as long as the events: they are what a redrive re-appends.
    let topics = [(cfg.topic.as_str(), cfg.partitions), (dlq.as_str(), 1)].map(|(name, n)| {
        configs.iter().fold(
            NewTopic::new(name, n, TopicReplication::Fixed(cfg.replication)),
            |t, (k, v)| t.set(k, v),
        )
    });
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&topics, &opts).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(LogError::Admin(format!("creating {topic}: {code}")));
            }
        }
    }
    let (losses, unknown): (Vec<_>, Vec<_>) = check_topic(&admin, cfg, &opts)
        .await?
        .into_iter()
        .partition(retention::TopicProblem::is_loss);
    let listed = |problems: &[retention::TopicProblem]| {
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !unknown.is_empty() {
        tracing::warn!(topic = %cfg.topic, problems = %listed(&unknown), "cannot tell whether the broker keeps every event of the topic");
    }
    match (losses.is_empty(), cfg.topic_check) {
        (true, _) => Ok(()),
        (false, TopicCheck::Enforce) => Err(LogError::UnfitTopic {
            topic: cfg.topic.clone(),
            problems: listed(&losses),
        }),
        (false, TopicCheck::Warn) => {
            tracing::warn!(topic = %cfg.topic, problems = %listed(&losses), "the events topic loses events (kafka.topic_check = warn)");
            Ok(())
        }
    }
}

/// The problems of the events topic as the broker describes it now.
async fn check_topic(
    admin: &AdminClient<DefaultClientContext>,
    cfg: &LogConfig,
    opts: &AdminOptions,
) -> Result<Vec<retention::TopicProblem>, LogError> {
    let described = admin
        .describe_configs(&[ResourceSpecifier::Topic(&cfg.topic)], opts)
        .await?;
    let mut configs = BTreeMap::new();
    for r in described {
        let resource = r.map_err(|code| {
            LogError::Admin(format!("describing the settings of {}: {code}", cfg.topic))
        })?;
        for e in resource.entries {
            if let Some(v) = e.value {
                configs.insert(e.name, v);
            }
        }
    }
    let client = admin.inner();
    let partitions = partitions(client, &cfg.topic, Duration::from_secs(10))?.len();
    Ok(retention::check(&configs, partitions, cfg.partitions))
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
