//! BI access per tenant: the contract BI tools read (schema `bi`, docs/BI.md), the roles a
//! BI tool connects as, and the tenants each may read. Row-level security on the tables
//! behind the documented views does the filtering (migration 0010, docs/SECURITY.md); this
//! module publishes the `bi` views, keeps `bi_grants` and gives a role its read privileges.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::StoreError;

const STATEMENTS: &str = include_str!("sql/bi_statements.sql");
const GRANT: &str = include_str!("sql/bi_grant.sql");
const REVOKE: &str = include_str!("sql/bi_revoke.sql");
const LIST: &str = include_str!("sql/bi_list.sql");
const APP_ROLE: &str = include_str!("sql/bi_app_role.sql");
const PRIVILEGED: &str = include_str!("sql/bi_privileged.sql");
const CONTRACT: &str = include_str!("sql/bi_contract.sql");
const PUBLISHED: &str = include_str!("sql/bi_published.sql");
const PUBLISH_LOCK: &str = include_str!("sql/bi_publish_lock.sql");
const SEARCH_PATH: &str = include_str!("sql/bi_search_path.sql");

/// The views of the contract (schema `bi`), as `sql/bi_contract.sql` creates them.
pub const CONTRACT_VIEWS: [&str; 14] = [
    "account_contacts",
    "account_ownership_conflicts",
    "attribution_credits_by_model",
    "funnel_counts",
    "funnel_months",
    "lead_cohorts",
    "lead_exits",
    "lead_merges",
    "lead_velocity",
    "marketing_spend",
    "ownership_audit",
    "sla_clock_states",
    "stage_stays",
    "visitor_links",
];

/// Publishes the contract over the read models of the live schema (where this pool's
/// `search_path` finds them), unless it stands there already: every view present, each
/// reading the live schema and defined by this binary's `sql/bi_contract.sql`. Safe from
/// several processes at once (one at a time, by an advisory lock).
pub async fn publish(pool: &PgPool) -> Result<(), StoreError> {
    let live = crate::db::live_schema(pool).await?;
    let mut tx = pool.begin().await?;
    sqlx::query(PUBLISH_LOCK).execute(&mut *tx).await?;
    let current: bool = sqlx::query_scalar(PUBLISHED)
        .bind(&live)
        .bind(&CONTRACT_VIEWS[..])
        .bind(contract_tag())
        .fetch_one(&mut *tx)
        .await?;
    if !current {
        publish_in(&mut tx, &live).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Creates or replaces the contract's views over the read models of schema `live`, in the
/// caller's transaction (`leadledger rebuild` does it at its swap).
pub async fn publish_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    live: &str,
) -> Result<(), StoreError> {
    sqlx::query(SEARCH_PATH)
        .bind(live)
        .execute(&mut **tx)
        .await?;
    sqlx::raw_sql(CONTRACT).execute(&mut **tx).await?;
    // Which definition stands, for the next start to see (the views' own text is normalised
    // by the server, so a tag of the file is compared instead).
    // Dynamic SQL: COMMENT takes no parameters; the tag is hexadecimal.
    sqlx::raw_sql(&format!(
        "COMMENT ON VIEW bi.funnel_months IS '{}'",
        contract_tag()
    ))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A tag of this binary's contract: the FNV-1a hash of `sql/bi_contract.sql`.
fn contract_tag() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in CONTRACT.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("leadledger bi contract {h:016x}")
}

/// One grant.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BiGrant {
    pub role_name: String,
    pub tenant_id: String,
    pub granted_at: DateTime<Utc>,
}

/// Lets `role` read `tenant`: creates the role (LOGIN, no password: set one with
/// `ALTER ROLE` or use the server's other authentication) when it does not exist, grants it
/// SELECT on the BI views and the tables behind them, and records the grant. Needs a role
/// that may create roles and grant on the tables (their owner, or a superuser).
pub async fn grant(pool: &PgPool, role: &str, tenant: &str) -> Result<(), StoreError> {
    // GRANT rewrites the catalog rows of the tables it names. When another session updates
    // one of them at the same moment (a concurrent GRANT, autovacuum's statistics, the credits
    // worker truncating its tables at start) PostgreSQL refuses it with "tuple concurrently
    // updated" (XX000) or as a deadlock (40P01): nothing was changed, so the whole grant is
    // tried again.
    for attempt in 1.. {
        match grant_once(pool, role, tenant).await {
            Err(StoreError::Db(sqlx::Error::Database(e)))
                if attempt < 5
                    && (e.code().as_deref() == Some("40P01")
                        || e.message().contains("tuple concurrently updated")) =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
            }
            other => return other,
        }
    }
    unreachable!("the loop returns")
}

async fn grant_once(pool: &PgPool, role: &str, tenant: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let privileged: bool = sqlx::query_scalar(PRIVILEGED)
        .bind(role)
        .fetch_one(&mut *tx)
        .await?;
    if privileged {
        return Err(StoreError::Refused(format!(
            "role {role} reads every tenant (superuser, BYPASSRLS or leadledger's own role): \
             it cannot be a BI role"
        )));
    }
    let statements: Vec<String> = sqlx::query_scalar(STATEMENTS)
        .bind(role)
        .fetch_all(&mut *tx)
        .await?;
    for s in statements {
        // Utility statements with identifiers the server quoted itself (`format('%I')`).
        sqlx::raw_sql(&s).execute(&mut *tx).await?;
    }
    sqlx::query(GRANT)
        .bind(role)
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Takes `tenant` away from `role` (its privileges stay; with no tenant left it reads no
/// rows). `false` when the role did not have it.
pub async fn revoke(pool: &PgPool, role: &str, tenant: &str) -> Result<bool, StoreError> {
    let gone: Option<String> = sqlx::query_scalar(REVOKE)
        .bind(role)
        .bind(tenant)
        .fetch_optional(pool)
        .await?;
    Ok(gone.is_some())
}

/// Every grant.
pub async fn list(pool: &PgPool) -> Result<Vec<BiGrant>, StoreError> {
    Ok(sqlx::query_as(LIST).fetch_all(pool).await?)
}

/// Registers `role` as leadledger's own (reads and writes every tenant): needed when the
/// processes connect as a role other than the one that ran the migrations.
pub async fn add_app_role(pool: &PgPool, role: &str) -> Result<(), StoreError> {
    sqlx::query(APP_ROLE).bind(role).execute(pool).await?;
    Ok(())
}
