//! Fresh topics and databases for each phase, and the small helpers every phase shares.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use leadledger_log::LogConfig;
use leadledger_store::Store;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

/// Pool size of every store the bench opens: the server's default (`database.max_connections`).
pub const POOL: u32 = 8;

/// Where the broker and PostgreSQL are, and what the bench created there.
pub struct Env {
    pub brokers: String,
    /// PostgreSQL server URL without a database part.
    pub pg: String,
    pub partitions: i32,
    /// Databases created so far; [`Env::drop_databases`] drops them.
    pub databases: Vec<String>,
}

/// A short unique suffix for names.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

impl Env {
    /// A new topic (and its dead-letter topic), created now. Headers are off, as
    /// leadledger runs against Tansu.
    pub async fn topic(&self, tag: &str) -> anyhow::Result<LogConfig> {
        let log = LogConfig {
            brokers: self.brokers.clone(),
            topic: format!("bench{}.{tag}", unique()),
            partitions: self.partitions,
            replication: 1,
            headers: false,
            properties: Vec::new(),
            ..LogConfig::default()
        };
        leadledger_log::admin::ensure_topics(&log)
            .await
            .with_context(|| format!("creating topic {}", log.topic))?;
        Ok(log)
    }

    /// A new, migrated database.
    pub async fn database(&mut self, tag: &str) -> anyhow::Result<Store> {
        let url = format!("{}/ll_bench_{tag}_{}", self.pg, unique());
        Store::create_database(&url)
            .await
            .with_context(|| format!("creating database {url}"))?;
        self.databases.push(url.clone());
        let store = Store::connect(&url, POOL).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Drops every database this run created; reports failures and carries on.
    pub async fn drop_databases(&mut self) {
        for url in self.databases.drain(..) {
            if let Err(e) = Store::drop_database(&url).await {
                eprintln!("bench: could not drop {url}: {e}");
            }
        }
    }

    /// End offset (high watermark) of every partition of `topic`.
    pub async fn end_offsets(&self, topic: &str) -> anyhow::Result<BTreeMap<i32, i64>> {
        let brokers = self.brokers.clone();
        let topic = topic.to_string();
        tokio::task::spawn_blocking(move || {
            let c: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &brokers)
                .set("group.id", format!("bench-watermarks-{}", unique()))
                .create()?;
            let ends =
                leadledger_log::admin::end_offsets(c.client(), &topic, Duration::from_secs(10))?;
            anyhow::ensure!(!ends.is_empty(), "topic {topic} has no partitions");
            Ok(ends)
        })
        .await?
    }
}
