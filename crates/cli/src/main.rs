//! `leadledger`: one binary, several roles.
//!
//! # Layout
//! - [`allocator`]: jemalloc and its options (the bench binaries include the same file).
//! - [`config`]: settings from flags, environment, an optional file and defaults.
//! - [`serve`]: `serve --role all|ingest|projector|query|sla` with graceful shutdown.
//! - [`simulate`]: streams a seeded synthetic quarter to the ingest RPC.
//! - [`report`]: the funnel by channel as a table.
//! - [`dlq`]: dead letters: list, show, redrive.
//! - [`rebuild`]: the read models rebuilt into a shadow schema and swapped in, online.
//! - [`keys`]: API keys (create, list, revoke, rotate).
//! - [`webhooks`]: outgoing webhook subscriptions (create, list, disable, dead letters).
//! - [`bi`]: BI roles, each reading only its tenants.
//! - [`telemetry`]: logs (text or JSON) and the Prometheus metrics endpoint.
//! - [`client`]: how `simulate` and `report` connect, with their API key.

// Denied, not forbidden: the allocator options are one exported symbol (allocator.rs).
#![deny(unsafe_code)]

mod allocator;
mod bi;
mod client;
mod config;
mod dlq;
mod keys;
mod rebuild;
mod report;
mod serve;
mod simulate;
mod telemetry;
mod webhooks;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Config, Env, File, Pairs, Source};

/// leadledger: the neutral ledger between marketing and sales.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Optional TOML configuration file (see docs/CONFIGURATION.md).
    #[arg(long, global = true, env = "LEADLEDGER_CONFIG")]
    config: Option<PathBuf>,
    /// Override a setting: `--set kafka.brokers=host:9092` (repeatable; beats env and file).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// API key `simulate` and `report` send (`authorization: Bearer …`).
    #[arg(
        long,
        global = true,
        env = "LEADLEDGER_API_KEY",
        hide_env_values = true
    )]
    api_key: Option<String>,
    /// Read the API key from a file instead.
    #[arg(long, global = true, env = "LEADLEDGER_API_KEY_FILE")]
    api_key_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one role, or all of them in one process.
    Serve {
        #[arg(long, value_enum, default_value = "all")]
        role: serve::Role,
    },
    /// Create the database if missing and apply migrations.
    Migrate,
    /// Stream a realistic synthetic quarter to the ingest RPC.
    Simulate(simulate::Args),
    /// Print the funnel by channel for a tenant.
    Report(report::Args),
    /// Rebuild every read model from offset 0 into a shadow schema while the service keeps
    /// serving, then swap it in atomically (docs/OPERATIONS.md).
    Rebuild(rebuild::Args),
    /// Re-project every precomputed attribution credit from the timelines (after changing
    /// `attribution.*` settings the projector does it by itself on start).
    RebuildCredits,
    /// API keys: create, list, revoke, rotate.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Outgoing webhooks: SLA alerts and escalation steps POSTed to a URL (docs/SLA.md,
    /// "Webhooks").
    #[command(subcommand)]
    Webhooks(webhooks::Command),
    /// BI roles: grant, revoke, list, app-role.
    #[command(subcommand)]
    Bi(bi::Command),
    /// Dead letters of the events topic: list, show, redrive.
    #[command(subcommand)]
    Dlq(dlq::Command),
    /// Print every setting with its resolved value (secrets redacted).
    Config,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut flags = Pairs::default();
    for kv in &cli.set {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--set expects KEY=VALUE, got {kv:?}"))?;
        if !config::KEYS.iter().any(|(key, _, _)| *key == k) {
            anyhow::bail!("--set: unknown setting {k} (see `leadledger config`)");
        }
        flags.0.insert(k.to_string(), v.to_string());
    }
    let file = match &cli.config {
        Some(p) => File::load(p)?,
        None => File::default(),
    };
    let cfg = Config::resolve(&[&flags as &dyn Source, &Env, &file])?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let role = match &cli.command {
        Command::Serve { role } => format!("{role:?}").to_lowercase(),
        _ => "cli".to_string(),
    };
    rt.block_on(async move {
        let tracer = telemetry::init(cfg.log_format, &cfg.traces, &role)?;
        let result = run(cli, cfg, flags, file).await;
        // The last spans go out before the process ends.
        let _ = tokio::task::spawn_blocking(move || tracer.shutdown()).await;
        result
    })
}

async fn run(cli: Cli, cfg: Config, flags: Pairs, file: File) -> anyhow::Result<()> {
    let key = || client::key(cli.api_key.as_deref(), cli.api_key_file.as_deref());
    {
        match cli.command {
            Command::Serve { role } => serve::run(cfg, role).await,
            Command::Migrate => {
                let store = serve::migrate(&cfg).await?;
                // Here the contract must stand: an error is the command's.
                leadledger_store::bi::publish(&store.pool)
                    .await
                    .context("publishing the BI contract (schema bi)")
            }
            Command::Simulate(args) => simulate::run(&cfg, &key()?, args).await,
            Command::Report(args) => report::run(&cfg, &key()?, args).await,
            Command::Keys(command) => keys::run(&serve::migrate(&cfg).await?, command).await,
            Command::Webhooks(command) => {
                webhooks::run(&serve::migrate(&cfg).await?, &cfg.log.topic, command).await
            }
            Command::Bi(command) => bi::run(&serve::migrate(&cfg).await?, command).await,
            Command::Dlq(command) => dlq::run(&cfg, command).await,
            Command::Rebuild(args) => rebuild::run(&cfg, args).await,
            Command::RebuildCredits => {
                let store = serve::migrate(&cfg).await?;
                let started = std::time::Instant::now();
                let leads = leadledger_workers::credits::rebuild(
                    &store,
                    &cfg.log.topic,
                    &leadledger_workers::credits::CreditsConfig::new(cfg.attribution.clone()),
                    std::time::Duration::from_secs(24 * 3600),
                )
                .await?;
                println!(
                    "re-projected the credits of {leads} leads ({} models) in {:.1} s",
                    cfg.attribution.models.len(),
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            }
            Command::Config => {
                for (key, default, help) in config::KEYS {
                    let value = [&flags as &dyn Source, &Env, &file]
                        .iter()
                        .find_map(|s| s.get(key))
                        .unwrap_or_else(|| (*default).to_string());
                    let value = config::redacted(key, &value);
                    println!(
                        "{key:26} = {value:48} # {help} (env {})",
                        Env::var_name(key)
                    );
                }
                Ok(())
            }
        }
    }
}
