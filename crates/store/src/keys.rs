//! `api_keys`: the credentials callers authenticate with, each bound to one tenant: bearer
//! keys and client-certificate bindings (mutual TLS). Only the SHA-256 of a key's secret is
//! stored; making, parsing and checking keys is
//! `leadledger_grpc::auth`'s business, this module only keeps the rows.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::StoreError;

const INSERT: &str = include_str!("sql/keys_insert.sql");
const ALL: &str = include_str!("sql/keys_all.sql");
const GET: &str = include_str!("sql/keys_get.sql");
const REVOKE: &str = include_str!("sql/keys_revoke.sql");
const EXPIRE: &str = include_str!("sql/keys_expire.sql");

/// One stored key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyRow {
    pub key_id: String,
    pub tenant_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub secret_sha256: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The key this one replaced (`keys rotate`), or empty.
    pub replaces: String,
    /// The client-certificate identity this credential is (`cn:…`, `dns:…`, `uri:…`), or
    /// empty for a bearer key.
    pub client_cert: String,
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    pub key_id: &'a str,
    pub tenant_id: &'a str,
    pub name: &'a str,
    pub scopes: &'a [String],
    pub secret_sha256: &'a [u8],
    pub expires_at: Option<DateTime<Utc>>,
    pub replaces: &'a str,
    /// A client-certificate binding's identity; empty for a bearer key.
    pub client_cert: &'a str,
}

/// Stores a new key.
pub async fn insert(pool: &PgPool, key: &NewKey<'_>) -> Result<(), StoreError> {
    insert_query(key).execute(pool).await?;
    Ok(())
}

fn insert_query<'q>(
    key: &NewKey<'q>,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(INSERT)
        .bind(key.key_id)
        .bind(key.tenant_id)
        .bind(key.name)
        .bind(key.scopes)
        .bind(key.secret_sha256)
        .bind(key.expires_at)
        .bind(key.replaces)
        .bind(key.client_cert)
}

/// Every key, live, expired or revoked.
pub async fn all(pool: &PgPool) -> Result<Vec<KeyRow>, StoreError> {
    Ok(sqlx::query_as(ALL).fetch_all(pool).await?)
}

/// One key by its id.
pub async fn get(pool: &PgPool, key_id: &str) -> Result<Option<KeyRow>, StoreError> {
    Ok(sqlx::query_as(GET)
        .bind(key_id)
        .fetch_optional(pool)
        .await?)
}

/// Revokes a key; `false` when there is no live key of that id.
pub async fn revoke(pool: &PgPool, key_id: &str) -> Result<bool, StoreError> {
    let row: Option<String> = sqlx::query_scalar(REVOKE)
        .bind(key_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.is_some())
}

/// Stores `new` and ends the life of the key it replaces after `grace` (0: at once), in
/// one transaction; `false` (and nothing stored) when the old key is not live (revoked or
/// expired).
pub async fn rotate(
    pool: &PgPool,
    new: &NewKey<'_>,
    grace: std::time::Duration,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let old: Option<String> = sqlx::query_scalar(EXPIRE)
        .bind(new.replaces)
        .bind(grace.as_secs_f64())
        .fetch_optional(&mut *tx)
        .await?;
    if old.is_none() {
        return Ok(false);
    }
    insert_query(new).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}
