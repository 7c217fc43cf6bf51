//! End-to-end test harness: a real gRPC server (ingest + query) on port 0, a real projector,
//! the real Kafka-protocol broker and the real PostgreSQL.
//!
//! Every [`TestEnv`] has its own topic and its own database, so tests run in parallel and
//! leave nothing behind ([`TestEnv::cleanup`] drops the database).
//!
//! The broker and database addresses come from `LEADLEDGER_KAFKA` (default
//! `127.0.0.1:9092`) and `LEADLEDGER_TEST_PG` (default `postgres://postgres@127.0.0.1:5432`);
//! `make test` brings both up first.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use leadledger_api::pb::query_service_client::QueryServiceClient;
use leadledger_api::pb::{self, ingest_service_client::IngestServiceClient};
use leadledger_attribution::precompute::ModelSet;
use leadledger_grpc::auth::client::{BearerKey, KeyedChannel};
use leadledger_grpc::auth::KeyRing;
use leadledger_grpc::context::ReadContext;
use leadledger_grpc::ingest::Ingest;
use leadledger_grpc::server::{serve, Services};
use leadledger_log::LogConfig;
use leadledger_store::Store;
use leadledger_workers::projector::{self, ProjectorConfig, Totals};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub mod events;
pub mod groups;
pub mod process;
pub mod receiver;
pub mod sla;
pub mod workload;

/// The broker under test.
pub fn brokers() -> String {
    std::env::var("LEADLEDGER_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// The PostgreSQL server under test (no database part).
pub fn pg_server() -> String {
    std::env::var("LEADLEDGER_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A short unique suffix for names.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// The name of a new test database: `ll_<run>_<tag>_<unique>`, where `<run>` is this test
/// run's id (`LEADLEDGER_TEST_RUN`, set by `scripts/test.sh`; `dev` for a test run by hand).
/// `scripts/test.sh` drops the databases its previous run left behind by that prefix, never
/// another run's (a `make bench` or a second checkout on the same server).
pub fn database_name(tag: &str) -> String {
    let run = std::env::var("LEADLEDGER_TEST_RUN")
        .ok()
        .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "dev".to_string());
    format!("ll_{run}_{tag}_{}", unique())
}

/// A fresh database, migrated and with the BI contract published, as `leadledger migrate`
/// leaves one; returns its URL and store.
pub async fn fresh_database(tag: &str) -> anyhow::Result<(String, Store)> {
    let url = format!("{}/{}", pg_server(), database_name(tag));
    Store::create_database(&url).await?;
    let store = Store::connect(&url, 8).await?;
    store.migrate().await?;
    leadledger_store::bi::publish(&store.pool).await?;
    Ok((url, store))
}

/// One isolated deployment: topic, database, server and projector.
pub struct TestEnv {
    pub log: LogConfig,
    pub db_url: String,
    pub store: Store,
    pub addr: SocketAddr,
    /// Batch size of projectors started from now on.
    pub projector_batch_max: usize,
    /// Policy sets of projectors started from now on (default: the shipped defaults).
    pub derive: std::sync::Arc<leadledger_projection::Derivations>,
    /// Consumer group of the projector started last (empty before the first start): the
    /// first joins the configuration's default group, every later one a group of its own
    /// (see [`TestEnv::start_projector`]).
    projector_group: String,
    server_stop: CancellationToken,
    server: Option<JoinHandle<()>>,
    /// The server's API keys (only with [`TestEnv::start_authenticated`]).
    ring: Option<KeyRing>,
    projector_stop: CancellationToken,
    projector: Option<JoinHandle<anyhow::Result<Totals>>>,
    credits_stop: CancellationToken,
    credits: Option<JoinHandle<()>>,
    extra_dbs: Vec<String>,
}

/// The account rules of [`TestEnv`]'s ownership service: `KA=account_owner`,
/// `SMB=first_claim`, none for any other account.
pub fn test_account_rules() -> leadledger_domain::account::ownership::Rules {
    use leadledger_domain::account::ownership::{Rule, Rules};
    Rules {
        by_tier: [
            ("KA".to_string(), Rule::AccountOwner),
            ("SMB".to_string(), Rule::FirstClaim),
        ]
        .into(),
        default: Rule::None,
    }
}

impl TestEnv {
    /// Starts everything with a new topic of `partitions` partitions (no Kafka headers, as
    /// against the Tansu dev broker).
    pub async fn start(partitions: i32) -> anyhow::Result<Self> {
        Self::start_with(partitions, false).await
    }

    /// Starts everything; `headers` turns Kafka record headers on.
    pub async fn start_with(partitions: i32, headers: bool) -> anyhow::Result<Self> {
        Self::start_on(&brokers(), partitions, headers).await
    }

    /// Starts everything against the broker at `brokers` (a test's own broker process).
    pub async fn start_on(brokers: &str, partitions: i32, headers: bool) -> anyhow::Result<Self> {
        Self::start_full(brokers, partitions, headers, None).await
    }

    /// Starts everything with the authentication gate (`gate` settings): every call needs a
    /// key made with [`TestEnv::create_key`].
    pub async fn start_authenticated(
        partitions: i32,
        gate: leadledger_grpc::auth::GateConfig,
    ) -> anyhow::Result<Self> {
        Self::start_full(&brokers(), partitions, false, Some(gate)).await
    }

    async fn start_full(
        brokers: &str,
        partitions: i32,
        headers: bool,
        gate: Option<leadledger_grpc::auth::GateConfig>,
    ) -> anyhow::Result<Self> {
        let _ = tracing_init();
        let log = LogConfig {
            brokers: brokers.to_string(),
            topic: format!("t{}.events", unique()),
            partitions,
            replication: 1,
            headers,
            properties: Vec::new(),
            ..LogConfig::default()
        };
        leadledger_log::admin::ensure_topics(&log).await?;
        let (db_url, store) = fresh_database("e2e").await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let producer = leadledger_log::EventProducer::new(&log)?;
        let query = ReadContext::new(store.clone(), &log.topic).with_log_ends(producer.clone());
        let ring = match gate {
            Some(_) => Some(KeyRing::load(store.clone(), Duration::from_millis(500)).await?),
            None => None,
        };
        let services = Services {
            ingest: Some(Ingest::new(producer.clone(), store.clone())),
            attribution: Some(leadledger_grpc::attribution::AttributionSvc::new(
                query.clone(),
            )),
            // Key accounts to their owner, SMB to the first claim (every other account: no
            // account rule, as shipped), so every suite's claims take the account step.
            ownership: Some(
                leadledger_grpc::ownership::OwnershipSvc::new(producer.clone(), query.clone())
                    .with_account_rules(test_account_rules()),
            ),
            privacy: Some(leadledger_grpc::privacy::PrivacySvc::new(
                producer.clone(),
                query.clone(),
            )),
            identity: Some(leadledger_grpc::identity::IdentitySvc::new(
                producer.clone(),
                query.clone(),
            )),
            sla: Some(leadledger_grpc::sla::SlaSvc::new(query.clone())),
            query: Some(query),
            auth: ring
                .clone()
                .zip(gate)
                .map(|(ring, cfg)| leadledger_grpc::auth::Gate::new(ring, cfg)),
            dependencies: leadledger_grpc::health::Dependencies {
                store: Some(store.clone()),
                log: Some(producer.clone()),
            },
            max_deadline: Some(Duration::from_secs(60)),
            drain: Some(Duration::from_secs(5)),
            tls: None,
        };
        let server_stop = CancellationToken::new();
        let stop = server_stop.clone();
        let server = tokio::spawn(async move {
            serve(listener, services, stop.cancelled_owned())
                .await
                .expect("server");
        });
        let mut env = Self {
            log,
            db_url,
            store,
            addr,
            projector_batch_max: 2000,
            derive: Default::default(),
            projector_group: String::new(),
            server_stop,
            server: Some(server),
            ring,
            projector_stop: CancellationToken::new(),
            projector: None,
            credits_stop: CancellationToken::new(),
            credits: None,
            extra_dbs: Vec::new(),
        };
        env.start_projector();
        env.credits = Some(tokio::spawn(leadledger_workers::credits::run(
            leadledger_workers::credits::Deps {
                store: env.store.clone(),
                topic: env.log.topic.clone(),
                cfg: leadledger_workers::credits::CreditsConfig::new(ModelSet::default_set()),
            },
            env.credits_stop.clone(),
        )));
        Ok(env)
    }

    /// Starts (or restarts) the projector task.
    ///
    /// The first projector joins the configuration's default group; a restarted one joins a
    /// group of its own (`<default>.<unique>`). Tansu 0.6.0 may still count a member that has just
    /// left, and a projector restarted at once in its group was seen handed only some of the
    /// partitions, leaving the others unapplied (docs/RELIABILITY.md). The group does not
    /// decide what a projector applies (the checkpoints in PostgreSQL do), so a fresh group
    /// changes nothing else; a test about the group itself joins
    /// [`TestEnv::projector_group`] on purpose.
    pub fn start_projector(&mut self) {
        self.projector_stop = CancellationToken::new();
        let mut cfg = ProjectorConfig::new(self.log.clone());
        cfg.batch_max = self.projector_batch_max;
        cfg.derive = self.derive.clone();
        if !self.projector_group.is_empty() {
            cfg.group = format!("{}.{}", cfg.group, unique());
        }
        self.projector_group.clone_from(&cfg.group);
        let store = self.store.clone();
        let stop = self.projector_stop.clone();
        self.projector = Some(tokio::spawn(async move {
            Ok(projector::run(projector::Deps { cfg, store }, stop).await?)
        }));
    }

    /// Consumer group of the projector started last.
    pub fn projector_group(&self) -> &str {
        &self.projector_group
    }

    /// Kills the projector task wherever it is (mid-batch, mid-transaction): no shutdown.
    pub async fn kill_projector(&mut self) {
        if let Some(h) = self.projector.take() {
            h.abort();
            let _ = h.await;
        }
    }

    /// Stops the projector gracefully and returns its totals.
    pub async fn stop_projector(&mut self) -> anyhow::Result<Totals> {
        self.projector_stop.cancel();
        match self.projector.take() {
            Some(h) => h.await?,
            None => Ok(Totals::default()),
        }
    }

    pub async fn ingest(&self) -> anyhow::Result<IngestServiceClient<Channel>> {
        Ok(IngestServiceClient::connect(format!("http://{}", self.addr)).await?)
    }

    pub async fn query(&self) -> anyhow::Result<QueryServiceClient<Channel>> {
        Ok(QueryServiceClient::connect(format!("http://{}", self.addr)).await?)
    }

    /// Creates an API key for `tenant` with `scopes` (expiring at `expires_at`, if set),
    /// loaded by the server's key ring before this returns; returns the key.
    pub async fn create_key_expiring(
        &self,
        tenant: &str,
        scopes: &[&str],
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> anyhow::Result<String> {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let made = leadledger_grpc::auth::key::issue(
            &self.store,
            &leadledger_grpc::auth::key::Grant {
                tenant_id: tenant,
                name: "test",
                scopes: &scopes,
                expires_at,
                client_cert: "",
            },
        )
        .await?;
        if let Some(ring) = &self.ring {
            ring.reload().await?;
        }
        Ok(made.key)
    }

    /// [`TestEnv::create_key_expiring`] with no expiry.
    pub async fn create_key(&self, tenant: &str, scopes: &[&str]) -> anyhow::Result<String> {
        self.create_key_expiring(tenant, scopes, None).await
    }

    /// Makes the server's key ring read the keys now (after a revocation).
    pub async fn reload_keys(&self) -> anyhow::Result<()> {
        if let Some(ring) = &self.ring {
            ring.reload().await?;
        }
        Ok(())
    }

    /// A channel to the server whose calls carry `key`.
    pub async fn keyed(&self, key: &str) -> anyhow::Result<KeyedChannel> {
        let channel = Channel::from_shared(format!("http://{}", self.addr))?
            .connect()
            .await?;
        Ok(BearerKey::new(key).map_err(anyhow::Error::msg)?.on(channel))
    }

    /// High watermark (end offset) of every partition of `topic`.
    pub fn end_offsets(&self, topic: &str) -> anyhow::Result<Vec<i64>> {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.log.brokers)
            .set("group.id", format!("watermarks-{}", unique()))
            .create()?;
        let ends = leadledger_log::admin::end_offsets(c.client(), topic, Duration::from_secs(10))?;
        Ok(ends.into_values().collect())
    }

    /// Waits until `lead_events` holds `n` rows (the projector applied them).
    pub async fn wait_for_events(&self, n: i64, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let got: i64 = sqlx::query_scalar("SELECT count(*) FROM lead_events")
                .fetch_one(&self.store.pool)
                .await?;
            if got == n {
                return Ok(());
            }
            anyhow::ensure!(got < n, "more events applied ({got}) than expected ({n})");
            anyhow::ensure!(
                Instant::now() < deadline,
                "only {got} of {n} events applied in {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A second, empty database that [`TestEnv::cleanup`] also drops.
    pub async fn extra_database(&mut self, tag: &str) -> anyhow::Result<(String, Store)> {
        let (url, store) = fresh_database(tag).await?;
        self.extra_dbs.push(url.clone());
        Ok((url, store))
    }

    /// Stops everything and drops the databases.
    pub async fn cleanup(mut self) -> anyhow::Result<()> {
        let _ = self.stop_projector().await;
        self.credits_stop.cancel();
        if let Some(c) = self.credits.take() {
            let _ = c.await;
        }
        self.server_stop.cancel();
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        self.store.pool.close().await;
        Store::drop_database(&self.db_url).await?;
        for url in &self.extra_dbs {
            Store::drop_database(url).await?;
        }
        Ok(())
    }
}

/// Appends a batch and returns the response.
pub async fn append(
    client: &mut IngestServiceClient<Channel>,
    tenant: &str,
    events: Vec<pb::Event>,
) -> Result<pb::AppendResponse, tonic::Status> {
    client
        .append(pb::AppendRequest {
            tenant_id: tenant.to_string(),
            events,
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Every row of the read models, as text, in a stable order (to compare two databases).
pub async fn dump_read_models(store: &Store) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for (table, order) in [
        ("leads", "tenant_id, lead_id"),
        ("lead_match_keys", "tenant_id, lead_id"),
        ("lead_events", "event_id, tenant_id"),
        ("stage_visits", "tenant_id, lead_id, seq"),
        ("stage_transitions", "tenant_id, lead_id, seq"),
        (
            "sla_clocks",
            "tenant_id, lead_id, policy_id, start_event_id",
        ),
        ("ownership_decisions", "intent_id, tenant_id"),
        ("identity_decisions", "intent_id, tenant_id"),
        ("lead_merges", "tenant_id, lead_id, merge_intent"),
        ("visitor_links", "tenant_id, visitor_key"),
        ("account_holdings", "tenant_id, account_key"),
        ("account_rulings", "intent_id, tenant_id"),
        ("account_coverage", "tenant_id, account_key, role, rep_id"),
        ("account_renewals", "tenant_id, account_key, contract_id"),
        (
            "funnel_cells",
            "tenant_id, capture_day, channel, campaign, region, industry, segment, currency",
        ),
        (
            "funnel_block_cells",
            "tenant_id, capture_block, channel, campaign, region, industry, segment, currency",
        ),
        (
            "funnel_month_cells",
            "tenant_id, capture_month, channel, campaign, region, industry, segment, currency",
        ),
        (
            "marketing_spend",
            "tenant_id, channel, campaign, period_start, period_end",
        ),
        ("projector_checkpoints", "projection, partition"),
    ] {
        // The credits keep their own checkpoints (see `dump_credits`).
        let only_core = if table == "projector_checkpoints" {
            "WHERE projection = 'core'"
        } else {
            ""
        };
        // A checkpoint's batch trace names a span of the run that applied it, not a row.
        let row = if table == "projector_checkpoints" {
            "(t.projection, t.topic, t.partition, t.next_offset)::text"
        } else {
            "t::text"
        };
        let sql = format!("SELECT {row} FROM {table} t {only_core} ORDER BY {order}");
        let rows: Vec<String> = sqlx::query_scalar(&sql).fetch_all(&store.pool).await?;
        out.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
    }
    Ok(out)
}

/// Test instrumentation in the test's own database (no product change): a trigger that
/// records which connection (by `application_name`) moved which checkpoint. The broker
/// under test (Tansu 0.6.0) cannot describe consumer groups, so this is how the test sees
/// who owns a partition: the projector that commits its checkpoints.
pub async fn record_checkpoint_writers(store: &leadledger_store::Store) -> anyhow::Result<()> {
    for stmt in [
        "CREATE TABLE test_checkpoint_writers (seq bigserial PRIMARY KEY, app text NOT NULL, \
         partition integer NOT NULL, next_offset bigint NOT NULL)",
        "CREATE FUNCTION test_record_checkpoint_writer() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN INSERT INTO test_checkpoint_writers (app, partition, next_offset) \
         VALUES (current_setting('application_name'), NEW.partition, NEW.next_offset); \
         RETURN NEW; END $$",
        // The core projection's writers only: the credits worker moves its own checkpoints.
        "CREATE TRIGGER test_checkpoint_writers AFTER INSERT OR UPDATE ON projector_checkpoints \
         FOR EACH ROW WHEN (NEW.projection = 'core') \
         EXECUTE FUNCTION test_record_checkpoint_writer()",
    ] {
        sqlx::query(stmt).execute(&store.pool).await?;
    }
    Ok(())
}

/// The partitions whose core checkpoint a connection named `app` moved (needs
/// [`record_checkpoint_writers`]).
pub async fn partitions_moved_by(
    store: &leadledger_store::Store,
    app: &str,
) -> anyhow::Result<std::collections::BTreeSet<i32>> {
    let rows: Vec<i32> =
        sqlx::query_scalar("SELECT DISTINCT partition FROM test_checkpoint_writers WHERE app = $1")
            .bind(app)
            .fetch_all(&store.pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Every row of the precomputed credits, as text, in a stable order (the queue itself is
/// left out: its ids differ between databases).
pub async fn dump_credits(store: &Store) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for (table, order) in [
        ("attribution_state", "singleton"),
        ("attribution_accounts", "tenant_id, lead_id"),
        (
            "attribution_conversions",
            "tenant_id, lead_id, conversion, level",
        ),
        (
            "attribution_credits",
            "tenant_id, lead_id, conversion, level, touch_index",
        ),
        (
            "attribution_totals",
            "tenant_id, level, conversion, basis, dimension, day, currency, value",
        ),
        (
            "attribution_period_totals",
            "tenant_id, level, conversion, basis, day, currency",
        ),
    ] {
        // Cells netted to zero by later facts are the same as absent ones.
        let nonzero = match table {
            "attribution_totals" => "WHERE credits <> array_fill(0::int8, ARRAY[10])",
            "attribution_period_totals" => {
                "WHERE (conversions, unattributed, value_minor) <> (0, 0, 0)"
            }
            _ => "",
        };
        let sql = format!("SELECT t::text FROM {table} t {nonzero} ORDER BY {order}");
        let rows: Vec<String> = sqlx::query_scalar(&sql).fetch_all(&store.pool).await?;
        out.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
    }
    Ok(out)
}

fn tracing_init() -> Result<(), ()> {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Trace contexts are read and written by the W3C propagator, as in the binary.
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("LEADLEDGER_TEST_LOG")
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
    });
    Ok(())
}

/// Whether two optional figures are both absent, or both there within 10⁻⁶ (figures a
/// server computes in floating point, compared with a test's own computation).
pub fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() < 1e-6,
        _ => false,
    }
}

/// Asserts that two dumps are equal row for row, in order (every dump orders each table by
/// its key, so equal contents come in equal order), showing a few of the rows only one side
/// has: how replays and rebuilds are compared with the live read models.
pub fn assert_same_rows(got: &[String], want: &[String], what: &str) {
    if got != want {
        let got_set: std::collections::HashSet<&String> = got.iter().collect();
        let want_set: std::collections::HashSet<&String> = want.iter().collect();
        let extra: Vec<_> = got
            .iter()
            .filter(|r| !want_set.contains(r))
            .take(5)
            .collect();
        let missing: Vec<_> = want
            .iter()
            .filter(|r| !got_set.contains(r))
            .take(5)
            .collect();
        panic!(
            "{what}: {} rows, {} expected (in that order); extra {extra:#?}; missing {missing:#?}",
            got.len(),
            want.len()
        );
    }
}

/// The field paths of the `google.rpc.BadRequest` violations of an error, in order.
pub fn violation_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .bad_request()
        .map(|br| {
            br.field_violations
                .iter()
                .map(|v| v.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Produces one record straight to a topic, bypassing ingest (poison records, newer writers).
pub async fn produce_raw(
    brokers: &str,
    topic: &str,
    key: &str,
    value: &[u8],
    event_type_header: Option<&str>,
) -> anyhow::Result<()> {
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let mut record = FutureRecord::to(topic).key(key).payload(value);
    if let Some(t) = event_type_header {
        record = record.headers(OwnedHeaders::new().insert(Header {
            key: leadledger_log::envelope::EVENT_TYPE,
            value: Some(t),
        }));
    }
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}

/// Copies every row of `contact_keys` (destroyed keys too) from `from` into `to`.
pub async fn copy_contact_keys(from: &Store, to: &Store) -> anyhow::Result<()> {
    type Row = (
        uuid::Uuid,
        String,
        String,
        Option<Vec<u8>>,
        chrono::DateTime<chrono::Utc>,
        Option<chrono::DateTime<chrono::Utc>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT key_id, tenant_id, lead_id, key, created_at, destroyed_at FROM contact_keys",
    )
    .fetch_all(&from.pool)
    .await?;
    for r in rows {
        sqlx::query(
            "INSERT INTO contact_keys (key_id, tenant_id, lead_id, key, created_at, destroyed_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.0)
        .bind(r.1)
        .bind(r.2)
        .bind(r.3)
        .bind(r.4)
        .bind(r.5)
        .execute(&to.pool)
        .await?;
    }
    Ok(())
}

impl TestEnv {
    /// Re-projects the whole topic into a fresh database (`tag` names it) with a new consumer
    /// group and this env's derivations, waits until its checkpoints reach the topic's end,
    /// stops that projector and returns the database: the "replay from offset 0" every
    /// replay test compares with the live read models.
    pub async fn replay(&mut self, tag: &str) -> anyhow::Result<Store> {
        self.replay_keys(tag, true).await
    }

    /// [`TestEnv::replay`]; with `keys` the fresh database first gets this one's contact
    /// data keys (as `leadledger rebuild` reads the live ones), without it the replay is a
    /// database restored without its keys (docs/PRIVACY.md, "Key loss").
    pub async fn replay_keys(&mut self, tag: &str, keys: bool) -> anyhow::Result<Store> {
        let (_, fresh) = self.extra_database(tag).await?;
        if keys {
            copy_contact_keys(&self.store, &fresh).await?;
        }
        let mut cfg = ProjectorConfig::new(self.log.clone());
        cfg.group = format!("replay-{}", unique());
        cfg.derive = self.derive.clone();
        let stop = CancellationToken::new();
        let task = tokio::spawn(projector::run(
            projector::Deps {
                cfg,
                store: fresh.clone(),
            },
            stop.clone(),
        ));
        let ends = self.end_offsets(&self.log.topic)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let cps = leadledger_store::checkpoints::load(
                &fresh.pool,
                leadledger_store::checkpoints::CORE,
                &self.log.topic,
            )
            .await?;
            let done = ends
                .iter()
                .enumerate()
                .all(|(p, e)| *e == 0 || i32::try_from(p).is_ok_and(|p| cps.get(&p) == Some(e)));
            if done {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "replay checkpoints {cps:?} never reached {ends:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.cancel();
        task.await??;
        Ok(fresh)
    }
}

impl TestEnv {
    /// Waits until the projector's checkpoint of every partition of the events topic has
    /// reached the topic's end offset (every record, duplicates and dead letters included,
    /// has been dealt with). Database errors while polling (a connection killed by a test)
    /// are retried until the deadline.
    pub async fn wait_caught_up(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let ends = self.end_offsets(&self.log.topic)?;
        loop {
            let last = match leadledger_store::checkpoints::load(
                &self.store.pool,
                leadledger_store::checkpoints::CORE,
                &self.log.topic,
            )
            .await
            {
                Ok(cps) => {
                    let done = ends.iter().enumerate().all(|(p, end)| {
                        let cp = i32::try_from(p)
                            .ok()
                            .and_then(|p| cps.get(&p).copied())
                            .unwrap_or(0);
                        cp == *end
                    });
                    if done {
                        return Ok(());
                    }
                    format!("checkpoints {cps:?}, end offsets {ends:?}")
                }
                Err(e) => format!("database error: {e}"),
            };
            anyhow::ensure!(
                Instant::now() < deadline,
                "not caught up within {within:?}: {last}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl TestEnv {
    /// Waits until the core projection has applied the whole topic and the credits are
    /// level with it (queue empty, credits checkpoints = core checkpoints).
    pub async fn wait_credits_caught_up(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        self.wait_caught_up(within).await?;
        loop {
            let core = leadledger_store::checkpoints::load(
                &self.store.pool,
                leadledger_store::checkpoints::CORE,
                &self.log.topic,
            )
            .await?;
            let credits = leadledger_store::checkpoints::load(
                &self.store.pool,
                leadledger_store::credits::PROJECTION,
                &self.log.topic,
            )
            .await?;
            let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM attribution_dirty")
                .fetch_one(&self.store.pool)
                .await?;
            if core == credits && queued == 0 {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "credits not level within {within:?}: core {core:?}, credits {credits:?}, \
                 {queued} queued"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `SELECT count(*)`-style scalar on `store`, retried while the database answers with an
/// error (tests that kill connections poll through this) until `within` has passed.
pub async fn scalar_retrying(store: &Store, sql: &str, within: Duration) -> anyhow::Result<i64> {
    let deadline = Instant::now() + within;
    loop {
        match sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&store.pool)
            .await
        {
            Ok(v) => return Ok(v),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Asserts that every stored event decodes from its log bytes (`raw`, with its `event_type`
/// column, as the re-fold reads the older part of a timeline) to the very event its `body`
/// holds (what was applied when it was first projected; a sealed contact's bytes are not in
/// `body`, docs/PRIVACY.md). Returns how many rows were checked.
pub async fn assert_stored_events_decode(store: &Store) -> anyhow::Result<usize> {
    let rows: Vec<(uuid::Uuid, String, Vec<u8>, serde_json::Value)> =
        sqlx::query_as("SELECT event_id, event_type, raw, body FROM lead_events")
            .fetch_all(&store.pool)
            .await?;
    for (id, event_type, raw, body) in &rows {
        let mut from_raw = leadledger_api::record::decode_event(raw, event_type)
            .map_err(|e| anyhow::anyhow!("event {id} ({event_type}): {e}"))?;
        if let leadledger_domain::Payload::LeadCaptured(c) = &mut from_raw.payload {
            if let Some(s) = &mut c.sealed {
                assert!(!s.ciphertext.is_empty() || s.key_id.is_nil(), "event {id}");
                s.nonce.clear();
                s.ciphertext.clear();
            }
        }
        let from_body: leadledger_domain::Event = serde_json::from_value(body.clone())?;
        assert_eq!(from_raw, from_body, "event {id} ({event_type})");
    }
    Ok(rows.len())
}
