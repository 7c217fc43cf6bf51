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

/// The role of [`Env::database_as_app_role`].
pub const APP_ROLE: &str = "ll_bench_app";

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

    /// A new database owned by [`APP_ROLE`] (a login role, neither superuser nor
    /// `BYPASSRLS`), migrated as that role and returned connected as it: row-level security
    /// (migration 0010, FORCE on every table behind a documented view) applies to each of
    /// its statements, as in a production deployment. The other phases connect as the
    /// server's superuser, which bypasses it.
    pub async fn database_as_app_role(&mut self, tag: &str) -> anyhow::Result<Store> {
        use sqlx::Connection as _;
        let name = format!("ll_bench_{tag}_{}", unique());
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", self.pg)).await?;
        sqlx::query(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') \
             THEN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$"
        ))
        .execute(&mut admin)
        .await?;
        sqlx::query(&format!("CREATE DATABASE {name} OWNER {APP_ROLE}"))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let url = format!("{}/{name}", self.pg);
        self.databases.push(url.clone());
        let opts: sqlx::postgres::PgConnectOptions = url.parse()?;
        let store = Store::connect_with(opts.username(APP_ROLE), POOL).await?;
        store.migrate().await?;
        let (superuser, bypass): (bool, bool) = sqlx::query_as(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_one(&store.pool)
        .await?;
        anyhow::ensure!(
            !superuser && !bypass,
            "{APP_ROLE} bypasses row-level security"
        );
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

/// Copies the contacts' data keys of `from` into `to`, so a second projection of the same
/// topic into `to` opens the contacts as the first did (the keys are made by ingest in one
/// database only).
pub async fn copy_contact_keys(from: &Store, to: &Store) -> anyhow::Result<()> {
    type Row = (uuid::Uuid, String, String, Vec<u8>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT key_id, tenant_id, lead_id, key FROM contact_keys WHERE key IS NOT NULL",
    )
    .fetch_all(&from.pool)
    .await?;
    let mut ids = Vec::new();
    let mut tenants = Vec::new();
    let mut leads = Vec::new();
    let mut keys = Vec::new();
    for (id, t, l, k) in rows {
        ids.push(id);
        tenants.push(t);
        leads.push(l);
        keys.push(k);
    }
    sqlx::query(
        "INSERT INTO contact_keys (key_id, tenant_id, lead_id, key) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[])",
    )
    .bind(&ids)
    .bind(&tenants)
    .bind(&leads)
    .bind(&keys)
    .execute(&to.pool)
    .await?;
    Ok(())
}
