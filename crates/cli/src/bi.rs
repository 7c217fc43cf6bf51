//! `leadledger bi grant|revoke|list|app-role`: PostgreSQL roles for BI tools, each reading
//! only the tenants granted to it (row-level security, docs/SECURITY.md).

use anyhow::Context;
use leadledger_store::{bi, Store};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Let a role read a tenant through the BI views (the role is created, LOGIN, if
    /// missing; give it a password with ALTER ROLE or use your server's authentication).
    Grant {
        #[arg(long)]
        role: String,
        #[arg(long)]
        tenant: String,
    },
    /// Take a tenant away from a role.
    Revoke {
        #[arg(long)]
        role: String,
        #[arg(long)]
        tenant: String,
    },
    /// List the grants.
    List,
    /// Register a role leadledger's processes connect as (reads and writes every tenant),
    /// when it is not the role that ran the migrations.
    AppRole { role: String },
}

pub async fn run(store: &Store, command: Command) -> anyhow::Result<()> {
    let pool = &store.pool;
    match command {
        Command::Grant { role, tenant } => {
            check(&role, &tenant)?;
            bi::grant(pool, &role, &tenant)
                .await
                .with_context(|| format!("granting {tenant} to role {role}"))?;
            println!("role {role} reads tenant {tenant} through the BI views");
        }
        Command::Revoke { role, tenant } => {
            anyhow::ensure!(
                bi::revoke(pool, &role, &tenant).await?,
                "role {role} did not have tenant {tenant}"
            );
            println!("role {role} no longer reads tenant {tenant}");
        }
        Command::List => {
            for g in bi::list(pool).await? {
                println!(
                    "{:<24} {:<24} {}",
                    g.role_name,
                    g.tenant_id,
                    g.granted_at.to_rfc3339()
                );
            }
        }
        Command::AppRole { role } => {
            bi::add_app_role(pool, &role).await?;
            println!("role {role} reads and writes every tenant");
        }
    }
    Ok(())
}

fn check(role: &str, tenant: &str) -> anyhow::Result<()> {
    crate::keys::check_tenant(tenant)?;
    anyhow::ensure!(
        !role.is_empty()
            && role.len() <= 63
            && role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "--role must be 1..63 characters of A-Z a-z 0-9 _"
    );
    Ok(())
}
