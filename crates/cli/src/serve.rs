//! `leadledger serve`: runs ingest, projector and query roles, alone or together, and shuts
//! down gracefully on SIGTERM or Ctrl-C (the server drains in-flight calls, the projector
//! finishes its batch and commits, the producer flushes).

use std::time::Duration;

use anyhow::Context;
use leadledger_grpc::attribution::AttributionSvc;
use leadledger_grpc::auth::{Gate, KeyRing};
use leadledger_grpc::context::ReadContext;
use leadledger_grpc::health::Dependencies;
use leadledger_grpc::identity::IdentitySvc;
use leadledger_grpc::ingest::Ingest;
use leadledger_grpc::ownership::OwnershipSvc;
use leadledger_grpc::privacy::PrivacySvc;
use leadledger_grpc::server::{serve, Services};
use leadledger_grpc::shed::LogBudget;
use leadledger_grpc::sla::SlaSvc;
use leadledger_log::EventProducer;
use leadledger_projection::Derivations;
use leadledger_store::Store;
use leadledger_workers::auto_merge;
use leadledger_workers::credits::{self, CreditsConfig};
use leadledger_workers::gauges;
use leadledger_workers::projector::{self, ProjectorConfig};
use leadledger_workers::sla_worker::{self, SlaConfig};
use leadledger_workers::{reevaluate, webhooks};
use tokio_util::sync::CancellationToken;

use crate::config::{redact, AuthMode, Config, MigrateOnStart, TlsFiles};

/// What a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Ingest, projector and query in one process.
    All,
    /// gRPC ingest only.
    Ingest,
    /// The projector only (plus gRPC health on the listen address).
    Projector,
    /// gRPC query, attribution, SLA and ownership (which appends intents to the log).
    Query,
    /// The SLA worker only: alerts and routing (plus gRPC health on the listen address).
    Sla,
}

/// Creates the database if needed, migrates it, publishes the BI contract (schema `bi`,
/// docs/BI.md) and returns a connected store.
pub async fn migrate(cfg: &Config) -> anyhow::Result<Store> {
    Store::create_database(&cfg.database_url)
        .await
        .with_context(|| format!("creating database {}", redact(&cfg.database_url)))?;
    let store = connect(cfg).await?;
    store.migrate().await.context("applying migrations")?;
    // The BI contract serves BI tools, not the service: a role that may not create it (the
    // processes may run as a role other than the schema's owner) still serves.
    if let Err(e) = leadledger_store::bi::publish(&store.pool).await {
        tracing::warn!(
            error = %e,
            "the BI contract (schema bi) is not published: run `leadledger migrate` as the \
             schema's owner"
        );
    }
    tracing::info!(database = %redact(&cfg.database_url), "migrations applied");
    Ok(store)
}

/// The workers' store of `database.url`.
async fn connect(cfg: &Config) -> anyhow::Result<Store> {
    Store::connect(&cfg.database_url, cfg.max_connections)
        .await
        .with_context(|| format!("connecting to {}", redact(&cfg.database_url)))
}

/// The gRPC server's TLS from the configured files.
fn server_tls(files: &TlsFiles) -> anyhow::Result<tonic::transport::ServerTlsConfig> {
    let read = |what: &str, path: &str| {
        std::fs::read(path).with_context(|| format!("reading {what} {path}"))
    };
    let identity = tonic::transport::Identity::from_pem(
        read("server.tls_cert_file", &files.cert)?,
        read("server.tls_key_file", &files.key)?,
    );
    let mut tls = tonic::transport::ServerTlsConfig::new().identity(identity);
    if let Some(ca) = &files.client_ca {
        tls = tls.client_ca_root(tonic::transport::Certificate::from_pem(read(
            "server.tls_client_ca_file",
            ca,
        )?));
    }
    Ok(tls)
}

pub async fn run(cfg: Config, role: Role) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    tokio::spawn(signals(shutdown.clone()));

    cfg.check_listen_auth()?;
    // Every role needs the database: ingest seals contacts with data keys kept there
    // (docs/PRIVACY.md), the others read or write the read models, and with authentication
    // on every role reads the API keys.
    let store = Some(match cfg.migrate {
        MigrateOnStart::Auto => migrate(&cfg).await?,
        MigrateOnStart::Check => {
            let store = connect(&cfg).await?;
            store.check_migrated().await?;
            store
        }
    });
    if matches!(role, Role::All | Role::Ingest | Role::Projector | Role::Sla) {
        leadledger_log::admin::ensure_topics(&cfg.log)
            .await
            .with_context(|| format!("creating topics on {}", cfg.log.brokers))?;
    }

    // The query role gets a producer too: ClaimLead/AssignLead append their intent and
    // then read the decision, so they are served wherever queries are.
    let producer = match role {
        Role::All | Role::Ingest | Role::Query | Role::Sla => Some(EventProducer::new(&cfg.log)?),
        Role::Projector => None,
    };
    // Reads get a pool of their own whose callers wait at most `limits.db_wait_ms` for a
    // connection (load shedding); the workers' pool waits and retries.
    let reads = match (role, &store) {
        (Role::All | Role::Query, Some(s)) => Some(Store::connect_waiting(
            s.pool.connect_options().as_ref().clone(),
            cfg.max_connections,
            cfg.db_wait,
        )),
        _ => None,
    };
    let query = match (&reads, &producer) {
        (Some(reads), Some(p)) => {
            let derive = std::sync::Arc::new(Derivations {
                sla: cfg.sla.clone(),
            });
            let ctx = ReadContext::new(reads.clone(), &cfg.log.topic);
            Some(ctx.with_log_ends(p.clone()).with_policies(derive))
        }
        _ => None,
    };
    let auth = match (cfg.auth.mode, &store) {
        (AuthMode::Keys, Some(s)) => {
            let ring = KeyRing::load(s.clone(), cfg.auth.refresh)
                .await
                .context("loading API keys")?;
            Some(Gate::new(ring, cfg.auth.gate.clone()))
        }
        _ => {
            tracing::warn!("auth.mode = none: no authentication, every caller names its tenant");
            None
        }
    };
    let dependencies = Dependencies {
        store: store.clone(),
        log: producer.clone(),
    };
    // Ingest seals contacts through connections of its own: beside the projector and the
    // workers (role `all`) it would otherwise wait for theirs.
    let ingest_keys = match (role, &store) {
        (Role::All, Some(s)) => Some(
            Store::connect_with(
                s.pool.connect_options().as_ref().clone(),
                cfg.max_connections.clamp(1, 4),
            )
            .await?,
        ),
        (Role::Ingest, Some(s)) => Some(s.clone()),
        _ => None,
    };
    // One room in the log's queue for ingest's events and the ownership intents.
    let log_budget = LogBudget::new(cfg.log_queue);
    let services = Services {
        ingest: producer
            .clone()
            .filter(|_| matches!(role, Role::All | Role::Ingest))
            .zip(ingest_keys)
            .map(|(p, s)| Ingest::new(p, s).with_log_budget(log_budget.clone())),
        attribution: query
            .clone()
            .map(|q| AttributionSvc::with_models(q, cfg.attribution.clone())),
        ownership: producer.clone().zip(query.clone()).map(|(p, q)| {
            OwnershipSvc::new(p, q)
                .with_log_budget(log_budget.clone())
                .with_account_rules(cfg.account_rules.clone())
        }),
        privacy: producer
            .clone()
            .zip(query.clone())
            .map(|(p, q)| PrivacySvc::new(p, q).with_log_budget(log_budget.clone())),
        identity: producer
            .clone()
            .zip(query.clone())
            .map(|(p, q)| IdentitySvc::new(p, q).with_log_budget(log_budget.clone())),
        sla: query.clone().map(SlaSvc::new),
        query,
        auth,
        dependencies,
        max_deadline: Some(cfg.max_deadline),
        drain: Some(cfg.shutdown_grace),
        tls: cfg.tls.as_ref().map(server_tls).transpose()?,
    };

    let projector = match (role, &store) {
        (Role::All | Role::Projector, Some(s)) => {
            let mut pc = ProjectorConfig::new(cfg.log.clone());
            pc.group = cfg.projector_group.clone();
            pc.batch_max = cfg.batch_max;
            pc.stall_after = cfg.stall_after;
            pc.derive = std::sync::Arc::new(Derivations {
                sla: cfg.sla.clone(),
            });
            // Clocks evaluated with other policies are evaluated again, in the background.
            tokio::spawn(reevaluate::run(
                reevaluate::Deps {
                    store: s.clone(),
                    derive: pc.derive.clone(),
                    step: 500,
                },
                shutdown.clone(),
            ));
            let stop = shutdown.clone();
            let store = s.clone();
            Some(tokio::spawn(async move {
                let result = projector::run(projector::Deps { cfg: pc, store }, stop.clone()).await;
                // A projector that stops on its own takes the process down with it: a server
                // whose read models silently stopped moving would be worse than none.
                if let Err(e) = &result {
                    tracing::error!(error = %e, "projector failed; shutting down");
                }
                stop.cancel();
                result
            }))
        }
        _ => None,
    };

    // The credits worker runs beside each projector; one of them works at a time.
    let credits = match (role, &store) {
        (Role::All | Role::Projector, Some(s)) => Some(tokio::spawn(credits::run(
            leadledger_workers::credits::Deps {
                store: s.clone(),
                topic: cfg.log.topic.clone(),
                cfg: CreditsConfig::new(cfg.attribution.clone()),
            },
            shutdown.clone(),
        ))),
        _ => None,
    };

    // The SLA worker (roles `sla` and `all`); one at a time works, by advisory lock.
    let sla = match (role, &store, &producer) {
        (Role::All | Role::Sla, Some(s), Some(p)) => Some(tokio::spawn(sla_worker::run(
            leadledger_workers::sla_worker::Deps {
                store: s.clone(),
                producer: p.clone(),
                topic: cfg.log.topic.clone(),
                cfg: SlaConfig {
                    account_rules: cfg.account_rules.clone(),
                    ..SlaConfig::new(std::sync::Arc::new(cfg.sla.clone()), cfg.sla_tick)
                },
            },
            shutdown.clone(),
        ))),
        _ => None,
    };

    // The auto-merge worker (roles `sla` and `all`, and only with auto-merge rules); one at a
    // time works, by advisory lock.
    let auto_merger = match (role, &store, &producer) {
        (Role::All | Role::Sla, Some(s), Some(p)) if !cfg.auto_merge.rules.is_off() => {
            Some(tokio::spawn(auto_merge::run(
                auto_merge::Deps {
                    store: s.clone(),
                    producer: p.clone(),
                    cfg: cfg.auto_merge.clone(),
                },
                shutdown.clone(),
            )))
        }
        _ => None,
    };

    // The webhook deliverer (roles `sla` and `all`); one at a time works, by advisory lock.
    let deliverer = match (role, &store) {
        (Role::All | Role::Sla, Some(s)) => Some(tokio::spawn(webhooks::run(
            webhooks::Deps {
                store: s.clone(),
                topic: cfg.log.topic.clone(),
                cfg: cfg.webhooks.clone(),
            },
            shutdown.clone(),
        ))),
        _ => None,
    };

    if let Some(listen) = &cfg.metrics_listen {
        crate::telemetry::install_metrics(listen)?;
        let runs = |r: &[Role]| r.contains(&role);
        tokio::spawn(gauges::run(
            gauges::Sampled {
                store: store.clone(),
                reads: reads.clone(),
                producer: producer.clone(),
                lag_of: runs(&[Role::All, Role::Projector]).then(|| cfg.log.clone()),
                sla: runs(&[Role::All, Role::Sla]),
                credits: runs(&[Role::All, Role::Projector]),
            },
            Duration::from_secs(5),
            shutdown.clone(),
        ));
    }

    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    tracing::info!(?role, listen = %cfg.listen, topic = %cfg.log.topic, tls = cfg.tls.is_some(), "leadledger serving");
    let stop = shutdown.clone();
    let server = serve(listener, services, async move { stop.cancelled().await });
    let result = server.await.context("gRPC server");
    shutdown.cancel();

    let grace = cfg.shutdown_grace;
    let mut failure = None;
    if let Some(p) = projector {
        match tokio::time::timeout(grace, p).await {
            Ok(Ok(Ok(totals))) => tracing::info!(?totals, "projector drained"),
            Ok(Ok(Err(e))) => failure = Some(anyhow::Error::new(e).context("projector")),
            Ok(Err(e)) => failure = Some(anyhow::Error::new(e).context("projector task")),
            Err(_) => tracing::warn!("projector did not stop within the grace period"),
        }
    }
    if let Some(c) = credits {
        if tokio::time::timeout(grace, c).await.is_err() {
            tracing::warn!("credits worker did not stop within the grace period");
        }
    }
    if let Some(w) = sla {
        if tokio::time::timeout(grace, w).await.is_err() {
            tracing::warn!("SLA worker did not stop within the grace period");
        }
    }
    if let Some(w) = deliverer {
        if tokio::time::timeout(grace, w).await.is_err() {
            tracing::warn!("webhook deliverer did not stop within the grace period");
        }
    }
    if let Some(w) = auto_merger {
        if tokio::time::timeout(grace, w).await.is_err() {
            tracing::warn!("auto-merge worker did not stop within the grace period");
        }
    }
    if let Some(p) = producer {
        p.flush(grace.max(Duration::from_millis(100)))
            .context("flushing the producer")?;
    }
    match failure {
        Some(e) => Err(e),
        None => result,
    }
}

async fn signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupt: shutting down"),
    }
    shutdown.cancel();
}
