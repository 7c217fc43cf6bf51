//! `leadledger webhooks create|list|disable|dead-letters`: outgoing webhook subscriptions,
//! straight in the database (an operator's tool, like `keys`; docs/SLA.md, "Webhooks").
//!
//! A subscription starts at what the projection has applied now (`--from-start`: the first
//! notice in the read models). Its secret is printed once when leadledger makes it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use leadledger_store::checkpoints::{self, CORE};
use leadledger_store::webhooks::{self, Subscription};
use leadledger_store::Store;
use rand::RngCore;

const KINDS: [&str; 3] = ["at_risk", "breached", "escalated"];

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Subscribe a URL to a tenant's SLA notices; prints the subscription id (and the secret
    /// when leadledger made it: it cannot be shown again).
    Create {
        #[arg(long)]
        tenant: String,
        /// Where notices are POSTed: https, or http to a loopback address only (else
        /// `--allow-http`).
        #[arg(long)]
        url: String,
        /// Comma-separated: at_risk, breached, escalated.
        #[arg(long, default_value = "at_risk,breached,escalated")]
        kinds: String,
        /// Only leads currently owned by this team (as `WatchSla`).
        #[arg(long, default_value = "")]
        team: String,
        /// Only leads currently owned by this rep.
        #[arg(long, default_value = "")]
        rep: String,
        /// Only leads of this segment (KA, SMB).
        #[arg(long, default_value = "")]
        segment: String,
        /// Only leads of this region.
        #[arg(long, default_value = "")]
        region: String,
        /// A label for people.
        #[arg(long, default_value = "")]
        name: String,
        /// The signing secret (at least 16 bytes), read from this file; default: made here
        /// and printed once.
        #[arg(long)]
        secret_file: Option<PathBuf>,
        /// Deliver every notice already in the read models, not only new ones.
        #[arg(long)]
        from_start: bool,
        /// Allow plain http to a host that is not a loopback address.
        #[arg(long)]
        allow_http: bool,
    },
    /// List subscriptions (never their secrets) and where each stands.
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Stop delivering to a subscription.
    Disable { subscription_id: String },
    /// Notices given up after `webhooks.max_attempts` failures, newest first.
    DeadLetters {
        #[arg(long)]
        subscription: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print each body too.
        #[arg(long)]
        bodies: bool,
    },
}

pub async fn run(store: &Store, topic: &str, command: Command) -> anyhow::Result<()> {
    let pool = &store.pool;
    match command {
        Command::Create {
            tenant,
            url,
            kinds,
            team,
            rep,
            segment,
            region,
            name,
            secret_file,
            from_start,
            allow_http,
        } => {
            crate::keys::check_tenant(&tenant)?;
            check_url(&url, allow_http)?;
            let kinds = parse_kinds(&kinds)?;
            let segment = match segment.to_ascii_uppercase().as_str() {
                "" => String::new(),
                s @ ("KA" | "SMB") => s.to_string(),
                _ => anyhow::bail!("--segment: `{segment}` is not KA or SMB"),
            };
            let (secret, made) = match secret_file {
                Some(f) => {
                    let s = std::fs::read_to_string(&f)
                        .with_context(|| format!("--secret-file {}", f.display()))?
                        .trim()
                        .to_string();
                    anyhow::ensure!(
                        s.len() >= 16,
                        "--secret-file: the secret must have at least 16 bytes"
                    );
                    (s, false)
                }
                None => (format!("whsec_{}", hex::encode(random::<24>())), true),
            };
            let id = format!("wh_{}", hex::encode(random::<8>()));
            let start: BTreeMap<i32, i64> = if from_start {
                BTreeMap::new()
            } else {
                checkpoints::load(pool, CORE, topic)
                    .await?
                    .into_iter()
                    .map(|(p, next)| (p, next - 1))
                    .collect()
            };
            webhooks::create(
                pool,
                &Subscription {
                    subscription_id: id.clone(),
                    tenant_id: tenant,
                    name,
                    url,
                    secret: secret.clone(),
                    kinds,
                    team,
                    rep_id: rep,
                    segment,
                    region,
                    created_at: chrono::Utc::now(),
                    disabled_at: None,
                },
                &start,
            )
            .await?;
            println!("{id}");
            if made {
                println!("secret (shown once): {secret}");
            }
        }
        Command::List { tenant } => {
            for s in webhooks::all(pool, tenant.as_deref()).await? {
                let cursors = webhooks::cursors(pool, &s.subscription_id).await?;
                let failing: Vec<String> = cursors
                    .values()
                    .filter(|c| c.attempts > 0)
                    .map(|c| {
                        format!(
                            "partition {}: {} failed attempts, last: {}",
                            c.log_partition, c.attempts, c.last_error
                        )
                    })
                    .collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}{}",
                    s.subscription_id,
                    s.tenant_id,
                    s.url,
                    s.kinds.join(","),
                    if s.name.is_empty() { "-" } else { &s.name },
                    if s.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "enabled"
                    },
                    if failing.is_empty() {
                        String::new()
                    } else {
                        format!("\t{}", failing.join("; "))
                    }
                );
            }
        }
        Command::Disable { subscription_id } => {
            anyhow::ensure!(
                webhooks::disable(pool, &subscription_id).await?,
                "no enabled subscription `{subscription_id}`"
            );
            println!("{subscription_id} disabled");
        }
        Command::DeadLetters {
            subscription,
            limit,
            bodies,
        } => {
            for d in webhooks::dead_letters(pool, subscription.as_deref(), limit).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}/{}\t{} attempts\t{}",
                    d.failed_at.to_rfc3339(),
                    d.subscription_id,
                    d.event_id,
                    d.lead_id,
                    d.log_partition,
                    d.log_offset,
                    d.attempts,
                    d.last_error
                );
                if bodies {
                    println!("{}", d.body);
                }
            }
        }
    }
    Ok(())
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

fn parse_kinds(s: &str) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for k in s.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        anyhow::ensure!(
            KINDS.contains(&k),
            "--kinds: `{k}` is not a kind ({})",
            KINDS.join(", ")
        );
        if !out.iter().any(|x| x == k) {
            out.push(k.to_string());
        }
    }
    anyhow::ensure!(!out.is_empty(), "--kinds: name at least one kind");
    Ok(out)
}

/// https anywhere; http only to a loopback host unless allowed.
fn check_url(url: &str, allow_http: bool) -> anyhow::Result<()> {
    let u = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("--url `{url}`: {e}"))?;
    let host = u.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback || allow_http => Ok(()),
        "http" => anyhow::bail!(
            "--url `{url}`: plain http to a non-loopback host sends the alerts in clear; use \
             https, or --allow-http"
        ),
        s => anyhow::bail!("--url `{url}`: scheme `{s}` is not http or https"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_kinds_are_checked() {
        assert!(check_url("https://hooks.example.com/x", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/x", false).is_ok());
        assert!(check_url("http://localhost/x", false).is_ok());
        assert!(check_url("http://[::1]:9/x", false).is_ok());
        let e = check_url("http://hooks.example.com/x", false).unwrap_err();
        assert!(e.to_string().contains("--allow-http"), "{e}");
        assert!(check_url("http://hooks.example.com/x", true).is_ok());
        assert!(check_url("ftp://x/y", true).is_err());
        assert!(check_url("not a url", true).is_err());
        assert_eq!(
            parse_kinds("breached, escalated,breached").unwrap(),
            ["breached", "escalated"]
        );
        assert!(parse_kinds("late").is_err());
        assert!(parse_kinds(" , ").is_err());
    }
}
