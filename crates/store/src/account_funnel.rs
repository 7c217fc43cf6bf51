//! `Funnel` at account level: every lead of the tenant as the account funnel reads it
//! (`leads.account_key`, its role and primary-contact facts, its group key), streamed in
//! account order and counted one account at a time by
//! [`leadledger_analytics::accounts::Counter`]. The account a lead opens is only known once
//! all its members are read, so every lead of the tenant is read: the cost grows with the
//! tenant, not with the period (docs/BENCHMARKS-queries.md, "Account-level funnel").

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use leadledger_analytics::accounts::{Counter, Funnel, Member};
use leadledger_domain::account::{AccountKey, ContactRole, Scope};
use sqlx::PgPool;

use crate::leads::{key_expr, Dimension};
use crate::StoreError;

/// `account_key, lead_id, captured_at, max_rank, contact_role, primary_contact, primary_since,
/// key, signed_currency, signed_amount_minor, collected_amount_minor`.
type Row = (
    String,
    String,
    Option<DateTime<Utc>>,
    i16,
    String,
    bool,
    Option<DateTime<Utc>>,
    Vec<String>,
    String,
    i64,
    i64,
);

/// The account funnel of the tenant's accounts first captured in `[from, to)`, grouped by
/// `dims` (each account by the values of the member that opened it).
pub async fn funnel(
    pool: &PgPool,
    tenant: &str,
    dims: &[Dimension],
    scope: Scope,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Funnel, StoreError> {
    let key = key_expr(&dims.iter().map(|d| d.sql()).collect::<Vec<_>>());
    // Dynamic SQL: the group key is built from the dimensions' expressions.
    let sql = format!(
        "SELECT account_key, lead_id, captured_at, max_rank, contact_role, primary_contact, \
           primary_since, {key}, signed_currency, signed_amount_minor, collected_amount_minor \
         FROM leads WHERE tenant_id = $1 ORDER BY account_key"
    );
    let mut rows = sqlx::query_as::<_, Row>(&sql).bind(tenant).fetch(pool);
    let mut counter = Counter::new(scope, from, to);
    let mut account: Vec<Member> = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let m = member(row);
        if account.first().is_some_and(|a| a.account != m.account) {
            counter.add(&account);
            account.clear();
        }
        account.push(m);
    }
    if !account.is_empty() {
        counter.add(&account);
    }
    Ok(counter.finish())
}

/// A `leads` row as the account funnel reads it.
fn member(
    (account, lead_id, captured_at, rank, role, primary, since, key, cur, amount, coll): Row,
) -> Member {
    let max_rank = u8::try_from(rank).unwrap_or(0);
    Member {
        // A row the projector has not given a key yet is its own account (its key sorts
        // with the other empty ones; each is counted alone below).
        account: if account.is_empty() {
            AccountKey::Lead(lead_id.clone()).text()
        } else {
            account
        },
        lead_id,
        captured_at,
        max_rank,
        role: ContactRole::parse(&role),
        primary_contact: primary,
        primary_since: since,
        key,
        signed: (max_rank >= 5).then_some((cur, amount, coll)),
    }
}
