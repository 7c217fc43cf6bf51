//! Reads behind `QueryService.ListTargetAccounts`: a page of the target-account list (and
//! customers with renewals), each with its holding, coverage, renewals and lead counts, from
//! one snapshot (docs/IDENTITY.md, "Target accounts, coverage and renewals").

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use leadledger_domain::account::ownership::Holding;
use sqlx::PgPool;

use crate::projection::accounts::StoredHolding;
use crate::StoreError;

const PAGE: &str = include_str!("sql/target_accounts_page.sql");
const HOLDINGS: &str = include_str!("sql/target_accounts_holdings.sql");
const COVERAGE: &str = include_str!("sql/target_accounts_coverage.sql");
const RENEWALS: &str = include_str!("sql/target_accounts_renewals.sql");
const LEADS: &str = include_str!("sql/target_accounts_leads.sql");

/// Which accounts to list.
#[derive(Debug, Clone)]
pub struct Filter<'a> {
    /// "" for every listed account and every account with a renewal.
    pub tier: &'a str,
    /// `Some(roles)`: only accounts nobody covers in one of these roles (storage names).
    pub uncovered_in: Option<&'a [&'a str]>,
    /// `Some(day)`: only accounts with a renewal on or before this day.
    pub renewal_by: Option<NaiveDate>,
}

/// One account of the page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetAccount {
    pub key: String,
    pub holding: Holding,
    /// `(role, rep, since)`, by role then rep.
    pub coverage: Vec<(String, String, DateTime<Utc>)>,
    /// `(contract, renews_on, amount, currency)`, by date.
    pub renewals: Vec<(String, NaiveDate, i64, String)>,
    pub leads: i64,
    pub signed: i64,
}

/// Up to `limit` accounts after `after` (exclusive), by key.
pub async fn page(
    pool: &PgPool,
    tenant: &str,
    filter: &Filter<'_>,
    after: &str,
    limit: i64,
) -> Result<Vec<TargetAccount>, StoreError> {
    let mut conn = pool.acquire().await?;
    let mut tx = crate::db::snapshot(&mut conn).await?;
    let keys: Vec<String> = sqlx::query_scalar(PAGE)
        .bind(tenant)
        .bind(filter.tier)
        .bind(after)
        .bind(filter.uncovered_in.is_some())
        .bind(filter.uncovered_in.unwrap_or(&[]))
        .bind(filter.renewal_by)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    let mut out: Vec<TargetAccount> = keys
        .iter()
        .map(|k| TargetAccount {
            key: k.clone(),
            ..TargetAccount::default()
        })
        .collect();
    let at: HashMap<String, usize> = keys.iter().cloned().zip(0..).collect();
    let holdings: Vec<StoredHolding> = sqlx::query_as(HOLDINGS)
        .bind(tenant)
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await?;
    for h in holdings {
        let ((_, key), holding) = h.holding()?;
        out[at[&key]].holding = holding;
    }
    let coverage: Vec<(String, String, String, DateTime<Utc>)> = sqlx::query_as(COVERAGE)
        .bind(tenant)
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await?;
    for (key, role, rep, since) in coverage {
        out[at[&key]].coverage.push((role, rep, since));
    }
    let renewals: Vec<(String, String, NaiveDate, i64, String)> = sqlx::query_as(RENEWALS)
        .bind(tenant)
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await?;
    for (key, contract, on, amount, currency) in renewals {
        out[at[&key]]
            .renewals
            .push((contract, on, amount, currency));
    }
    let leads: Vec<(String, i64, i64)> = sqlx::query_as(LEADS)
        .bind(tenant)
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await?;
    for (key, n, signed) in leads {
        let a = &mut out[at[&key]];
        a.leads = n;
        a.signed = signed;
    }
    tx.commit().await?;
    Ok(out)
}
