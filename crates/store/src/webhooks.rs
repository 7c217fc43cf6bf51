//! Outgoing webhooks: the subscriptions, where each stands per partition, and the notices
//! given up (docs/SLA.md, "Webhooks"). Delivering is `leadledger_workers::webhooks`'
//! business; this module keeps the rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

const INSERT: &str = include_str!("sql/webhooks_insert.sql");
const ALL: &str = include_str!("sql/webhooks_all.sql");
const DISABLE: &str = include_str!("sql/webhooks_disable.sql");
const CURSORS: &str = include_str!("sql/webhooks_cursors.sql");
const CURSOR_SAVE: &str = include_str!("sql/webhooks_cursor_save.sql");
const DEAD_LETTER: &str = include_str!("sql/webhooks_dead_letter.sql");
const DEAD_LETTERS: &str = include_str!("sql/webhooks_dead_letters.sql");

/// One subscription.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Subscription {
    pub subscription_id: String,
    pub tenant_id: String,
    pub name: String,
    pub url: String,
    /// The HMAC key of the signatures.
    pub secret: String,
    /// `at_risk`, `breached`, `escalated`.
    pub kinds: Vec<String>,
    pub team: String,
    pub rep_id: String,
    pub segment: String,
    pub region: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Where a subscription stands in one partition.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Cursor {
    pub log_partition: i32,
    /// The last offset delivered or given up (inclusive).
    pub last_offset: i64,
    /// Failed attempts at the next notice.
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: String,
}

/// A notice given up.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeadLetter {
    pub subscription_id: String,
    pub event_id: Uuid,
    pub tenant_id: String,
    pub lead_id: String,
    pub log_partition: i32,
    pub log_offset: i64,
    pub attempts: i32,
    pub last_error: String,
    pub failed_at: DateTime<Utc>,
    pub body: String,
}

/// Stores a new subscription (its `created_at` and `disabled_at` are ignored), starting after
/// `start` (partition → last offset considered; absent partitions from their beginning).
pub async fn create(
    pool: &PgPool,
    s: &Subscription,
    start: &BTreeMap<i32, i64>,
) -> Result<(), StoreError> {
    let (ps, os): (Vec<i32>, Vec<i64>) = start.iter().map(|(p, o)| (*p, *o)).unzip();
    sqlx::query(INSERT)
        .bind(&s.subscription_id)
        .bind(&s.tenant_id)
        .bind(&s.name)
        .bind(&s.url)
        .bind(&s.secret)
        .bind(&s.kinds)
        .bind(&s.team)
        .bind(&s.rep_id)
        .bind(&s.segment)
        .bind(&s.region)
        .bind(&ps)
        .bind(&os)
        .execute(pool)
        .await?;
    Ok(())
}

/// Every subscription (of `tenant`, if given), oldest first.
pub async fn all(pool: &PgPool, tenant: Option<&str>) -> Result<Vec<Subscription>, StoreError> {
    Ok(sqlx::query_as(ALL).bind(tenant).fetch_all(pool).await?)
}

/// Disables a subscription; false when there is no enabled one with that id.
pub async fn disable(pool: &PgPool, id: &str) -> Result<bool, StoreError> {
    let row: Option<String> = sqlx::query_scalar(DISABLE)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.is_some())
}

/// A subscription's positions, by partition.
pub async fn cursors(pool: &PgPool, id: &str) -> Result<BTreeMap<i32, Cursor>, StoreError> {
    let rows: Vec<Cursor> = sqlx::query_as(CURSORS).bind(id).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|c| (c.log_partition, c)).collect())
}

/// Saves a subscription's position in one partition; with `dead`, the notice given up, in
/// the same transaction.
pub async fn save(
    pool: &PgPool,
    id: &str,
    c: &Cursor,
    dead: Option<&DeadLetter>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    if let Some(d) = dead {
        sqlx::query(DEAD_LETTER)
            .bind(&d.subscription_id)
            .bind(d.event_id)
            .bind(&d.tenant_id)
            .bind(&d.lead_id)
            .bind(d.log_partition)
            .bind(d.log_offset)
            .bind(d.attempts)
            .bind(&d.last_error)
            .bind(d.failed_at)
            .bind(&d.body)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(CURSOR_SAVE)
        .bind(id)
        .bind(c.log_partition)
        .bind(c.last_offset)
        .bind(c.attempts)
        .bind(c.next_attempt_at)
        .bind(&c.last_error)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Dead letters (of one subscription, if given), newest first, at most `limit`.
pub async fn dead_letters(
    pool: &PgPool,
    id: Option<&str>,
    limit: i64,
) -> Result<Vec<DeadLetter>, StoreError> {
    Ok(sqlx::query_as(DEAD_LETTERS)
        .bind(id)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}
