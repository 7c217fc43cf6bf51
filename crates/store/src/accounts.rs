//! One account as `QueryService.GetAccount` answers it: its leads (`leads.account_key`,
//! migration 0028), their stages, its buying committee and who owns its open leads.
//! Every statement reads one account through the `leads_by_account` index.

use chrono::{DateTime, Utc};
use leadledger_domain::account::ownership::Holding;
use sqlx::PgPool;

use crate::leads::{LeadRow, LEAD_SELECT};
use crate::StoreError;

const STAGES: &str = include_str!("sql/accounts_stages.sql");
const NAME: &str = include_str!("sql/accounts_name.sql");
const COMMITTEE: &str = include_str!("sql/accounts_committee.sql");
const OWNERS: &str = include_str!("sql/accounts_owners.sql");
const OF_LEAD: &str = include_str!("sql/accounts_of_lead.sql");
const HOLDING: &str = include_str!("sql/accounts_holding.sql");

/// A lead of the account whose contact was given a role.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Member {
    pub lead_id: String,
    /// `ContactRole::as_str` (or a name a newer writer added).
    pub contact_role: String,
    pub contact_role_at: Option<DateTime<Utc>>,
    /// Whether its latest assignment says primary, and when it was last made primary.
    pub primary_contact: bool,
    pub primary_since: Option<DateTime<Utc>>,
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
    /// Its tier on the target-account list and who owns it (default: not listed, nobody).
    pub holding: Holding,
}

/// Which account to read.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// By its key, as `leads.account_key` spells it.
    Key(&'a str),
    /// The account of a lead (its survivor's, when it is merged into another).
    OfLead(&'a str),
}

/// What [`get`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Account {
        key: String,
        account: Box<Account>,
    },
    /// The lead asked for is not the tenant's.
    NoLead,
    /// No lead is in the account asked for.
    NoAccount,
}

/// The account `which` names for `tenant`, with its leads after `after` (a lead id; `""`
/// from the start), at most `limit`. One snapshot: every statement, the lead's account
/// included, in one repeatable-read transaction.
pub async fn get(
    pool: &PgPool,
    tenant: &str,
    which: Which<'_>,
    after: &str,
    limit: i64,
) -> Result<Found, StoreError> {
    let mut conn = pool.acquire().await?;
    let mut tx = crate::db::snapshot(&mut conn).await?;
    let key = match which {
        Which::Key(k) => k.to_string(),
        Which::OfLead(lead) => {
            let key: Option<String> = sqlx::query_scalar(OF_LEAD)
                .bind(tenant)
                .bind(lead)
                .fetch_optional(&mut *tx)
                .await?;
            match key {
                Some(k) => k,
                None => return Ok(Found::NoLead),
            }
        }
    };
    let key = key.as_str();
    let stages: Vec<(Option<String>, i64)> = sqlx::query_as(STAGES)
        .bind(tenant)
        .bind(key)
        .fetch_all(&mut *tx)
        .await?;
    let holding: Option<crate::projection::accounts::StoredHolding> = sqlx::query_as(HOLDING)
        .bind(tenant)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
    // A listed account is one before any lead of it is captured.
    if stages.is_empty() && holding.is_none() {
        return Ok(Found::NoAccount);
    }
    let holding = match holding {
        Some(h) => h.holding()?.1,
        None => Holding::default(),
    };
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
    Ok(Found::Account {
        key: key.to_string(),
        account: Box::new(Account {
            name: name.unwrap_or_default(),
            stages,
            members,
            owners,
            leads,
            holding,
        }),
    })
}
