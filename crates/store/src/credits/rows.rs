//! A lead's stored credit rows (`attribution_conversions`, `attribution_credits`) and its
//! account (`attribution_accounts`: where it was counted, with its touchpoints' fingerprint).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use leadledger_attribution::precompute::{ConversionRow, CreditRow, LeadCredits, LEVELS};
use leadledger_attribution::ConversionKind;
use leadledger_projection::credits::LeadKey;
use sqlx::PgConnection;
use uuid::Uuid;

use super::totals::array_literal;
use crate::columns::column_arrays;
use crate::StoreError;

const STORED_ACCOUNTS: &str = include_str!("sql/stored_accounts.sql");
const ACCOUNT_MEMBERS: &str = include_str!("sql/account_members.sql");
const STORED_CONVERSIONS: &str = include_str!("sql/stored_conversions.sql");
const STORED_CREDITS: &str = include_str!("sql/stored_credits.sql");
const DELETE_CONVERSIONS: &str = include_str!("sql/delete_conversions.sql");
const DELETE_CREDITS: &str = include_str!("sql/delete_credits.sql");
const INSERT_CONVERSIONS: &str = include_str!("sql/insert_conversions.sql");
const INSERT_CREDITS: &str = include_str!("sql/insert_credits.sql");
const UPSERT_ACCOUNTS: &str = include_str!("sql/upsert_accounts.sql");
const DROP_ACCOUNTS: &str = include_str!("sql/drop_accounts.sql");

/// `leads` as the two arrays the statements bind: tenants and lead ids.
pub(super) fn unzip_leads(leads: &BTreeSet<LeadKey>) -> (Vec<&str>, Vec<&str>) {
    leads.iter().map(|(t, l)| (t.as_str(), l.as_str())).unzip()
}

/// Each lead's stored `(account, touchpoints fingerprint)`.
pub async fn stored_accounts(
    conn: &mut PgConnection,
    leads: &BTreeSet<LeadKey>,
) -> Result<HashMap<LeadKey, (String, i64)>, StoreError> {
    let (tenants, ids) = unzip_leads(leads);
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(STORED_ACCOUNTS)
        .bind(&tenants)
        .bind(&ids)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(t, l, k, h)| ((t, l), (k, h)))
        .collect())
}

/// The leads stored under the accounts `(tenant, account)`.
pub async fn members_of(
    conn: &mut PgConnection,
    accounts: &BTreeSet<(String, String)>,
) -> Result<Vec<LeadKey>, StoreError> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let (tenants, keys): (Vec<&str>, Vec<&str>) = accounts
        .iter()
        .map(|(t, k)| (t.as_str(), k.as_str()))
        .unzip();
    Ok(sqlx::query_as(ACCOUNT_MEMBERS)
        .bind(&tenants)
        .bind(&keys)
        .fetch_all(conn)
        .await?)
}

fn kind_of(s: &str) -> Result<ConversionKind, StoreError> {
    ConversionKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("attribution conversion {s:?}")))
}

fn level_of(s: &str) -> Result<&'static str, StoreError> {
    LEVELS
        .into_iter()
        .find(|l| *l == s)
        .ok_or_else(|| StoreError::Corrupt(format!("attribution level {s:?}")))
}

type ConversionSqlRow = (
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    i64,
    String,
    Option<DateTime<Utc>>,
    String,
    String,
    String,
    i16,
);

type CreditSqlRow = (
    String,
    String,
    String,
    String,
    i16,
    Uuid,
    String,
    DateTime<Utc>,
    String,
    String,
    String,
    Vec<i64>,
);

/// The stored rows of `leads`, sorted as [`leadledger_projection::credits::fresh`] sorts
/// its rows.
pub async fn stored_rows(
    conn: &mut PgConnection,
    leads: &BTreeSet<LeadKey>,
) -> Result<HashMap<LeadKey, LeadCredits>, StoreError> {
    let (tenants, ids) = unzip_leads(leads);
    let convs: Vec<ConversionSqlRow> = sqlx::query_as(STORED_CONVERSIONS)
        .bind(&tenants)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let credits: Vec<CreditSqlRow> = sqlx::query_as(STORED_CREDITS)
        .bind(&tenants)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let mut out: HashMap<LeadKey, LeadCredits> = HashMap::new();
    for (t, l, conv, level, at, value, currency, captured, region, industry, segment, n) in convs {
        out.entry((t, l.clone()))
            .or_default()
            .conversions
            .push(ConversionRow {
                lead_id: l,
                kind: kind_of(&conv)?,
                level: level_of(&level)?,
                converted_at: at,
                value_minor: value,
                currency,
                captured_at: captured,
                region,
                industry,
                segment,
                touches: n as u16,
            });
    }
    for (t, l, conv, level, index, event, touch_lead, at, channel, campaign, keyword, amounts) in
        credits
    {
        out.entry((t, l.clone()))
            .or_default()
            .credits
            .push(CreditRow {
                lead_id: l,
                kind: kind_of(&conv)?,
                level: level_of(&level)?,
                index: index as u16,
                touch_event_id: event,
                touch_lead_id: touch_lead,
                touch_at: at,
                channel,
                campaign,
                keyword,
                credits: amounts,
            });
    }
    for rows in out.values_mut() {
        rows.conversions.sort();
        rows.credits.sort();
    }
    Ok(out)
}

column_arrays! {
    struct Conversions<'a> {
        tenant: &'a str,
        lead: &'a str,
        conversion: &'static str,
        level: &'static str,
        at: DateTime<Utc>,
        value: i64,
        currency: &'a str,
        captured: Option<DateTime<Utc>>,
        region: &'a str,
        industry: &'a str,
        segment: &'a str,
        touches: i16,
    }
}

column_arrays! {
    struct Credits<'a> {
        tenant: &'a str,
        lead: &'a str,
        conversion: &'static str,
        level: &'static str,
        index: i16,
        event: Uuid,
        touch_lead: &'a str,
        at: DateTime<Utc>,
        channel: &'a str,
        campaign: &'a str,
        keyword: &'a str,
        credits: String,
    }
}

/// Replaces the rows of the `changed` leads.
pub async fn replace_rows(
    conn: &mut PgConnection,
    changed: &[(&LeadKey, &LeadCredits)],
) -> Result<(), StoreError> {
    if changed.is_empty() {
        return Ok(());
    }
    let (tenants, leads): (Vec<&str>, Vec<&str>) = changed
        .iter()
        .map(|((t, l), _)| (t.as_str(), l.as_str()))
        .unzip();
    for delete in [DELETE_CONVERSIONS, DELETE_CREDITS] {
        sqlx::query(delete)
            .bind(&tenants)
            .bind(&leads)
            .execute(&mut *conn)
            .await?;
    }
    let (mut c, mut k) = (Conversions::default(), Credits::default());
    for ((tenant, _), rows) in changed {
        for r in &rows.conversions {
            c.push(
                tenant,
                &r.lead_id,
                r.kind.as_str(),
                r.level,
                r.converted_at,
                r.value_minor,
                &r.currency,
                r.captured_at,
                &r.region,
                &r.industry,
                &r.segment,
                r.touches as i16,
            );
        }
        for r in &rows.credits {
            k.push(
                tenant,
                &r.lead_id,
                r.kind.as_str(),
                r.level,
                r.index as i16,
                r.touch_event_id,
                &r.touch_lead_id,
                r.touch_at,
                &r.channel,
                &r.campaign,
                &r.keyword,
                array_literal(&r.credits),
            );
        }
    }
    if !c.is_empty() {
        c.bind(sqlx::query(INSERT_CONVERSIONS))
            .execute(&mut *conn)
            .await?;
    }
    if !k.is_empty() {
        k.bind(sqlx::query(INSERT_CREDITS))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

column_arrays! {
    struct Accounts<'a> {
        tenant: &'a str,
        lead: &'a str,
        key: String,
        touches: i64,
    }
}

/// Stores where each of these leads is counted now: `(tenant, lead, account, fingerprint)`.
pub async fn store_accounts(
    conn: &mut PgConnection,
    rows: Vec<(&str, &str, String, i64)>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut a = Accounts::default();
    for (t, l, k, h) in rows {
        a.push(t, l, k, h);
    }
    a.bind(sqlx::query(UPSERT_ACCOUNTS)).execute(conn).await?;
    Ok(())
}

/// Forgets the account rows of `leads` (leads without a journey of their own).
pub async fn drop_accounts(
    conn: &mut PgConnection,
    leads: &[(&str, &str)],
) -> Result<(), StoreError> {
    if leads.is_empty() {
        return Ok(());
    }
    let (tenants, ids): (Vec<&str>, Vec<&str>) = leads.iter().copied().unzip();
    sqlx::query(DROP_ACCOUNTS)
        .bind(&tenants)
        .bind(&ids)
        .execute(conn)
        .await?;
    Ok(())
}
