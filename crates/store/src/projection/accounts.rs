//! `account_holdings` and `account_rulings`: the batch's account facts applied in each
//! account key's log order (`leadledger_projection::accounts`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use leadledger_domain::account::ownership::{HeldBy, Holder, Holding};
use leadledger_projection::accounts::{AccountId, AccountRows};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::columns::column_arrays;
use crate::StoreError;

const HOLDINGS: &str = include_str!("sql/account_holdings.sql");
const UPSERT: &str = include_str!("sql/upsert_account_holdings.sql");
const INSERT_RULINGS: &str = include_str!("sql/insert_account_rulings.sql");
const UPSERT_COVERAGE: &str = include_str!("sql/upsert_account_coverage.sql");
const DELETE_COVERAGE: &str = include_str!("sql/delete_account_coverage.sql");
const UPSERT_RENEWALS: &str = include_str!("sql/upsert_account_renewals.sql");

column_arrays! {
    struct HoldingRows<'a> {
        tenant: &'a str,
        account: &'a str,
        tier: &'a str,
        name: &'a str,
        holder_rep: &'a str,
        holder_team: &'a str,
        holder_since: Option<DateTime<Utc>>,
        holder_by: &'a str,
    }
}

column_arrays! {
    struct CoverageRows<'a> {
        tenant: &'a str,
        account: &'a str,
        role: &'a str,
        rep: &'a str,
        since: DateTime<Utc>,
    }
}

column_arrays! {
    struct SlotRows<'a> {
        tenant: &'a str,
        account: &'a str,
        role: &'a str,
        rep: &'a str,
    }
}

column_arrays! {
    struct RenewalRows<'a> {
        tenant: &'a str,
        account: &'a str,
        contract: &'a str,
        renews_on: NaiveDate,
        amount: i64,
        currency: &'a str,
        scheduled_at: DateTime<Utc>,
    }
}

column_arrays! {
    struct RulingRows<'a> {
        tenant: &'a str,
        intent: Uuid,
        account: &'a str,
        lead: &'a str,
        partition: i32,
        offset: i64,
        mode: &'a str,
        rep: &'a str,
        team: &'a str,
        requested_by: &'a str,
        requested_at: DateTime<Utc>,
        tier: &'a str,
        rule: &'a str,
        allowed: bool,
        holder_rep: &'a str,
        holder_team: &'a str,
        holder_since: Option<DateTime<Utc>>,
        holder_by: &'a str,
        reason: &'a str,
    }
}

/// `account_holdings` as selected.
#[derive(sqlx::FromRow)]
pub(crate) struct StoredHolding {
    pub tenant_id: String,
    pub account_key: String,
    pub tier: String,
    pub name: String,
    pub holder_rep_id: String,
    pub holder_team: String,
    pub holder_since: Option<DateTime<Utc>>,
    pub holder_by: String,
}

impl StoredHolding {
    /// The holding it stores (a holder needs its rep, since and how).
    pub(crate) fn holding(self) -> Result<(AccountId, Holding), StoreError> {
        let holder = match (self.holder_rep_id.is_empty(), self.holder_since) {
            (false, Some(since)) => Some(Holder {
                by: HeldBy::parse(&self.holder_by).ok_or_else(|| {
                    StoreError::Corrupt(format!("account holder_by {:?}", self.holder_by))
                })?,
                rep_id: self.holder_rep_id,
                team: self.holder_team,
                since,
            }),
            _ => None,
        };
        Ok((
            (self.tenant_id, self.account_key),
            Holding {
                tier: self.tier,
                name: self.name,
                holder,
            },
        ))
    }
}

/// The stored holdings of `ids` (locked for the batch).
pub(super) async fn holdings(
    tx: &mut Transaction<'static, Postgres>,
    ids: impl IntoIterator<Item = &AccountId>,
) -> Result<BTreeMap<AccountId, Holding>, StoreError> {
    let (tenants, accounts): (Vec<&str>, Vec<&str>) = ids
        .into_iter()
        .map(|(t, a)| (t.as_str(), a.as_str()))
        .unzip();
    let rows: Vec<StoredHolding> = sqlx::query_as(HOLDINGS)
        .bind(&tenants)
        .bind(&accounts)
        .fetch_all(&mut **tx)
        .await?;
    rows.into_iter().map(StoredHolding::holding).collect()
}

/// Writes the coverage slots and renewals the batch set.
async fn write_coverage(
    tx: &mut Transaction<'static, Postgres>,
    rows: &AccountRows,
) -> Result<(), StoreError> {
    let mut set = CoverageRows::default();
    let mut gone = SlotRows::default();
    for ((tenant, account, role, rep), since) in &rows.coverage {
        match since {
            Some(at) => set.push(tenant, account, role.as_str(), rep, *at),
            None => gone.push(tenant, account, role.as_str(), rep),
        }
    }
    if !set.tenant.is_empty() {
        set.bind(sqlx::query(UPSERT_COVERAGE))
            .execute(&mut **tx)
            .await?;
    }
    if !gone.tenant.is_empty() {
        gone.bind(sqlx::query(DELETE_COVERAGE))
            .execute(&mut **tx)
            .await?;
    }
    if !rows.renewals.is_empty() {
        let mut cols = RenewalRows::default();
        for ((tenant, account, contract), r, at) in &rows.renewals {
            cols.push(
                tenant,
                account,
                contract,
                r.renews_on,
                r.amount_minor,
                &r.currency,
                *at,
            );
        }
        cols.bind(sqlx::query(UPSERT_RENEWALS))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Writes the rulings, the changed holdings, coverage and renewals.
pub(super) async fn write(
    tx: &mut Transaction<'static, Postgres>,
    rows: &AccountRows,
) -> Result<(), StoreError> {
    if !rows.holdings.is_empty() {
        let mut cols = HoldingRows::default();
        for ((tenant, account), h) in &rows.holdings {
            let holder = h.holder.as_ref();
            cols.push(
                tenant,
                account,
                &h.tier,
                &h.name,
                holder.map_or("", |h| h.rep_id.as_str()),
                holder.map_or("", |h| h.team.as_str()),
                holder.map(|h| h.since),
                holder.map_or("", |h| h.by.as_str()),
            );
        }
        cols.bind(sqlx::query(UPSERT)).execute(&mut **tx).await?;
    }
    if !rows.rulings.is_empty() {
        let mut cols = RulingRows::default();
        for r in &rows.rulings {
            let holder = r.holder.as_ref();
            cols.push(
                &r.tenant,
                r.intent_id,
                &r.account,
                &r.lead,
                r.partition,
                r.offset,
                r.mode,
                &r.rep_id,
                &r.team,
                &r.requested_by,
                r.requested_at,
                &r.tier,
                r.rule.as_str(),
                r.allowed,
                holder.map_or("", |h| h.rep_id.as_str()),
                holder.map_or("", |h| h.team.as_str()),
                holder.map(|h| h.since),
                holder.map_or("", |h| h.by.as_str()),
                &r.reason,
            );
        }
        cols.bind(sqlx::query(INSERT_RULINGS))
            .execute(&mut **tx)
            .await?;
    }
    write_coverage(tx, rows).await
}
