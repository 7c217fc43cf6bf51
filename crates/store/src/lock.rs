//! Session advisory locks: one worker at a time across processes. A lock lives exactly as
//! long as the connection that took it (held outside the pool by its worker), so a worker
//! that dies or loses its connection frees it for another.

use sqlx::PgConnection;

use crate::StoreError;

const TRY_LOCK: &str = include_str!("sql/lock_try_lock.sql");
const UNLOCK: &str = include_str!("sql/lock_unlock.sql");

/// Takes the session lock `key` on `conn` if nobody holds it; whether it did.
pub async fn try_lock(conn: &mut PgConnection, key: i64) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(TRY_LOCK)
        .bind(key)
        .fetch_one(conn)
        .await?)
}

/// Releases the session lock `key` held on `conn`.
pub async fn unlock(conn: &mut PgConnection, key: i64) -> Result<(), StoreError> {
    sqlx::query(UNLOCK).bind(key).execute(conn).await?;
    Ok(())
}
