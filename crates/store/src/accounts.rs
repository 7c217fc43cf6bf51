//! One account as `QueryService.GetAccount` answers it: its leads (`leads.account_key`,
//! migration 0028), their stages, its buying committee and who owns its open leads.
//! Every statement reads one account through the `leads_by_account` index.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::leads::{LeadRow, LEAD_SELECT};
use crate::StoreError;

const STAGES: &str = include_str!("sql/accounts_stages.sql");
const NAME: &str = include_str!("sql/accounts_name.sql");
const COMMITTEE: &str = include_str!("sql/accounts_committee.sql");
const OWNERS: &str = include_str!("sql/accounts_owners.sql");
const OF_LEAD: &str = include_str!("sql/accounts_of_lead.sql");

/// A lead of the account whose contact holds a role, or is its primary one.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Member {
    pub lead_id: String,
    /// `ContactRole::as_str`; empty for a primary contact given no role.
    pub contact_role: String,
    pub contact_role_at: Option<DateTime<Utc>>,
    pub primary_contact: bool,
    /// Empty once erased.
    pub contact_name: String,
    pub contact_title: String,
}

/// An account's figures and one page of its leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// The company name most of its leads give; empty when none gives one.
    pub name: String,
    /// `(stage, leads)`; `None`: leads with no stage yet.
    pub stages: Vec<(Option<String>, i64)>,
    pub members: Vec<Member>,
    /// `(rep, open leads)`, most leads first.
    pub owners: Vec<(String, i64)>,
    /// Leads after the page cursor, by lead id, at most the limit asked for.
    pub leads: Vec<LeadRow>,
}

/// The account `lead` is in, `None` for a lead the tenant does not have.
pub async fn of_lead(
    pool: &PgPool,
    tenant: &str,
    lead: &str,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(OF_LEAD)
        .bind(tenant)
        .bind(lead)
        .fetch_optional(pool)
        .await?)
}

/// Account `key` of `tenant` (as `leads.account_key` spells it), with its leads after
/// `after` (a lead id; `""` from the start), at most `limit`; `None` when it has no lead.
/// One snapshot: every statement in one repeatable-read transaction.
pub async fn get(
    pool: &PgPool,
    tenant: &str,
    key: &str,
    after: &str,
    limit: i64,
) -> Result<Option<Account>, StoreError> {
    let mut conn = pool.acquire().await?;
    let mut tx = crate::db::snapshot(&mut conn).await?;
    let stages: Vec<(Option<String>, i64)> = sqlx::query_as(STAGES)
        .bind(tenant)
        .bind(key)
        .fetch_all(&mut *tx)
        .await?;
    if stages.is_empty() {
        return Ok(None);
    }
    let name: Option<String> = sqlx::query_scalar(NAME)
        .bind(tenant)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
    let members = sqlx::query_as(COMMITTEE)
        .bind(tenant)
        .bind(key)
        .fetch_all(&mut *tx)
        .await?;
    let owners = sqlx::query_as(OWNERS)
        .bind(tenant)
        .bind(key)
        .fetch_all(&mut *tx)
        .await?;
    // `LEAD_SELECT` is shared with `get_lead` and `list_leads`: only the WHERE is added.
    let leads = sqlx::query_as(&format!(
        "{LEAD_SELECT} WHERE tenant_id = $1 AND account_key = $2 AND lead_id > $3 \
         ORDER BY lead_id LIMIT $4"
    ))
    .bind(tenant)
    .bind(key)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(Account {
        name: name.unwrap_or_default(),
        stages,
        members,
        owners,
        leads,
    }))
}
