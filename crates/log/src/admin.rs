//! Explicit topic creation (topics are created at start by the roles that need them, with
//! unlimited retention; "already exists" is success, once the existing topic's settings pass
//! [`crate::retention::check`]) and the end offsets of a topic.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::{Client, ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use crate::config::TopicCheck;
use crate::{retention, LogConfig, LogError};

/// Creates the events topic and its dead-letter topic if they do not exist, with unlimited
/// retention ([`crate::retention`]), then checks the events topic as the broker describes
/// it: finite retention, compaction or fewer partitions than configured is
/// [`LogError::UnfitTopic`] (only a warning with `topic_check = warn`); a setting the broker
/// does not report is a warning.
///
/// A broker that refuses the credentials (SASL) fails it at once with
/// [`LogError::Authentication`] naming librdkafka's reason, instead of waiting for the
/// request timeout.
pub async fn ensure_topics(cfg: &LogConfig) -> Result<(), LogError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.brokers);
    crate::config::apply_properties(&mut c, &cfg.properties);
    let probe = c.clone();
    tokio::task::spawn_blocking(move || self::probe(probe, PROBE_WITHIN))
        .await
        .map_err(|e| LogError::Admin(format!("probing the broker: {e}")))??;
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

/// How long [`probe`] waits for the broker before leaving the diagnosis to the admin calls.
const PROBE_WITHIN: Duration = Duration::from_secs(20);

/// How long [`probe`] keeps asking after an authentication failure, for another broker that
/// may accept the credentials.
const AUTH_GRACE: Duration = Duration::from_secs(2);

/// Connects with `config` and waits until the broker answers a metadata request, or refuses
/// the credentials: then [`LogError::Authentication`] with librdkafka's reason, within
/// [`AUTH_GRACE`],
/// where the admin calls would only time out ("Local: Timed out") after their request
/// timeout. A broker that does not answer within `within` is left to the calls that
/// follow. Blocking.
fn probe(config: ClientConfig, within: Duration) -> Result<(), LogError> {
    let refused = Arc::new(Mutex::new(None));
    let client: BaseProducer<Watched> = config.create_with_context(Watched(refused.clone()))?;
    let deadline = Instant::now() + within;
    let mut refused_at: Option<Instant> = None;
    loop {
        // Serves the client's error events (the authentication failure among them).
        client.poll(Duration::from_millis(100));
        if client
            .client()
            .fetch_metadata(None, Duration::from_millis(500))
            .is_ok()
            || Instant::now() >= deadline
        {
            return Ok(());
        }
        let seen = refused.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(reason) = seen {
            // Another broker of the cluster may still let the client in: a little grace.
            let at = *refused_at.get_or_insert_with(Instant::now);
            if at.elapsed() >= AUTH_GRACE {
                return Err(LogError::Authentication(reason));
            }
        }
    }
}

/// A client context that logs errors as the default one does and keeps the reason of an
/// authentication failure (a wrong SASL password, an unknown user).
struct Watched(Arc<Mutex<Option<String>>>);

impl ClientContext for Watched {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::error!(%error, reason, "librdkafka error");
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::Authentication) {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(|| reason.to_string());
        }
    }
}

impl ProducerContext for Watched {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
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
