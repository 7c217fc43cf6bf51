//! `leadledger keys create|list|revoke|rotate`: API keys and client-certificate bindings,
//! straight in the database (an
//! operator's tool: whoever runs it can reach the database already).
//!
//! A key is printed once, at creation; only its hash is stored. Every process reloads the
//! keys every `auth.refresh_ms`, so a revocation takes effect within that bound.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use leadledger_domain::{validate, Violations};
use leadledger_grpc::auth::{cert, key, Scope};
use leadledger_store::keys::{self, NewKey};
use leadledger_store::Store;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create a key for a tenant and print it (once: it cannot be shown again).
    Create {
        #[arg(long)]
        tenant: String,
        /// Comma-separated: ingest, query, command, admin.
        #[arg(long, default_value = "ingest,query,command")]
        scopes: String,
        /// A label for people (who or what holds the key).
        #[arg(long, default_value = "")]
        name: String,
        /// Days until the key expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Print only the key (for scripts).
        #[arg(long)]
        quiet: bool,
        /// Bind a client certificate instead of making a bearer key: callers presenting a
        /// certificate (verified against `server.tls_client_ca_file`) with this identity
        /// are this tenant with these scopes. `cn:<common name>`, `dns:<DNS name>` or
        /// `uri:<URI>` (a subject alternative name).
        #[arg(long)]
        client_cert: Option<String>,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a key now (every process refuses it within `auth.refresh_ms`).
    Revoke { key_id: String },
    /// Replace a key with a new one of the same tenant and scopes; the old one keeps working
    /// for `--grace-secs` so callers can switch.
    Rotate {
        key_id: String,
        #[arg(long, default_value_t = 3600)]
        grace_secs: u64,
        #[arg(long)]
        quiet: bool,
    },
}

pub async fn run(store: &Store, command: Command) -> anyhow::Result<()> {
    let pool = &store.pool;
    match command {
        Command::Create {
            tenant,
            scopes,
            name,
            expires_in_days,
            quiet,
            client_cert,
        } => {
            check_tenant(&tenant)?;
            let scopes = parse_scopes(&scopes)?;
            let client_cert = match client_cert {
                Some(c) => {
                    cert::parse_binding(&c).map_err(|e| anyhow::anyhow!("--client-cert {e}"))?
                }
                None => String::new(),
            };
            if !client_cert.is_empty() {
                if let Some(live) = keys::all(pool)
                    .await?
                    .into_iter()
                    .find(|k| k.client_cert == client_cert && k.revoked_at.is_none())
                {
                    anyhow::bail!(
                        "{client_cert} is already bound (llk_{}, tenant {}): revoke that \
                         binding first",
                        live.key_id,
                        live.tenant_id
                    );
                }
            }
            let expires_at =
                expires_in_days.map(|d| Utc::now() + chrono::Duration::days(i64::from(d)));
            let made = key::issue(
                store,
                &key::Grant {
                    tenant_id: &tenant,
                    name: &name,
                    scopes: &scopes,
                    expires_at,
                    client_cert: &client_cert,
                },
            )
            .await
            .context("storing the key")?;
            if client_cert.is_empty() {
                show(&made.key, &made.key_id, &tenant, &scopes, quiet);
            } else {
                println!("llk_{}", made.key_id);
                if !quiet {
                    eprintln!(
                        "binding llk_{} for tenant {tenant} ({}): client certificates with \
                         identity {client_cert} (verified against server.tls_client_ca_file) \
                         need no key; revoke it like a key",
                        made.key_id,
                        scopes.join(",")
                    );
                }
            }
        }
        Command::List { tenant } => {
            let now = Utc::now();
            println!(
                "{:<16} {:<16} {:<28} {:<8} {:<25} name / client certificate",
                "key", "tenant", "scopes", "state", "expires"
            );
            for k in keys::all(pool).await? {
                if tenant.as_ref().is_some_and(|t| *t != k.tenant_id) {
                    continue;
                }
                let state = match (k.revoked_at, k.expires_at) {
                    (Some(_), _) => "revoked",
                    (None, Some(at)) if at <= now => "expired",
                    _ => "live",
                };
                println!(
                    "llk_{:<12} {:<16} {:<28} {:<8} {:<25} {}",
                    k.key_id,
                    k.tenant_id,
                    k.scopes.join(","),
                    state,
                    k.expires_at.map_or("never".into(), |t| t.to_rfc3339()),
                    if k.client_cert.is_empty() {
                        k.name
                    } else {
                        format!("{} (certificate {})", k.name, k.client_cert)
                    }
                );
            }
        }
        Command::Revoke { key_id } => {
            let id = bare(&key_id);
            anyhow::ensure!(
                keys::revoke(pool, id).await?,
                "no live key llk_{id} (unknown or already revoked)"
            );
            println!("revoked llk_{id}; every process refuses it within auth.refresh_ms");
        }
        Command::Rotate {
            key_id,
            grace_secs,
            quiet,
        } => {
            let id = bare(&key_id);
            let old = keys::get(pool, id)
                .await?
                .with_context(|| format!("no key llk_{id}"))?;
            anyhow::ensure!(
                old.client_cert.is_empty(),
                "llk_{id} binds the client certificate {}: renew the certificate at the CA \
                 (same identity) instead; nothing to rotate here",
                old.client_cert
            );
            let made = key::generate();
            let rotated = keys::rotate(
                pool,
                &NewKey {
                    key_id: &made.key_id,
                    tenant_id: &old.tenant_id,
                    name: &old.name,
                    scopes: &old.scopes,
                    secret_sha256: &made.secret_sha256,
                    expires_at: old.expires_at,
                    replaces: id,
                    client_cert: "",
                },
                Duration::from_secs(grace_secs),
            )
            .await?;
            anyhow::ensure!(
                rotated,
                "llk_{id} is revoked or expired: create a new key instead"
            );
            show(&made.key, &made.key_id, &old.tenant_id, &old.scopes, quiet);
            if !quiet {
                println!("llk_{id} stops working in {grace_secs} s");
            }
        }
    }
    Ok(())
}

/// Refuses a `--tenant` that is not a valid tenant id (the rule events follow).
pub(crate) fn check_tenant(tenant: &str) -> anyhow::Result<()> {
    let mut v = Violations::default();
    validate::tenant_id(&mut v, "--tenant", tenant);
    anyhow::ensure!(v.is_empty(), "--tenant: {}", v.0[0].description);
    Ok(())
}

/// A key id as `list` shows it (`llk_<id>`) or bare.
fn bare(key_id: &str) -> &str {
    key_id.strip_prefix(key::PREFIX).unwrap_or(key_id)
}

fn parse_scopes(s: &str) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let scope = Scope::parse(part).with_context(|| {
            format!("unknown scope {part:?}: use ingest, query, command or admin")
        })?;
        if !out.iter().any(|x| x == scope.name()) {
            out.push(scope.name().to_string());
        }
    }
    anyhow::ensure!(!out.is_empty(), "--scopes needs at least one scope");
    Ok(out)
}

fn show(secret: &str, key_id: &str, tenant: &str, scopes: &[String], quiet: bool) {
    if quiet {
        println!("{secret}");
    } else {
        println!("{secret}");
        eprintln!(
            "key llk_{key_id} for tenant {tenant} ({}); shown once: store it now \
             (send it as `authorization: Bearer <key>`)",
            scopes.join(",")
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scopes_parse_and_bad_ones_are_named() {
        assert_eq!(
            super::parse_scopes("query, ingest,query").unwrap(),
            ["query", "ingest"]
        );
        let e = super::parse_scopes("query,root").unwrap_err().to_string();
        assert!(e.contains("root"), "{e}");
        assert!(super::parse_scopes("").is_err());
        assert_eq!(super::bare("llk_0123456789ab"), "0123456789ab");
    }
}
