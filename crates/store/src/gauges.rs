//! What the metrics sampler reads from the read models: SLA clocks at risk and breached now,
//! the credits worker's queue. Across tenants, for operators (the metrics carry no tenant).

use sqlx::PgPool;

use crate::StoreError;

const SLA_CLOCKS: &str = include_str!("sql/gauges_sla_clocks.sql");
const CREDITS_QUEUE: &str = include_str!("sql/gauges_credits_queue.sql");

/// Running SLA clocks at risk (past `at_risk_at`, not yet due) and breached (past `due_at`)
/// at the database's clock.
pub async fn sla_clocks(pool: &PgPool) -> Result<(i64, i64), StoreError> {
    Ok(sqlx::query_as(SLA_CLOCKS).fetch_one(pool).await?)
}

/// Leads waiting for the credits worker.
pub async fn credits_queue(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(CREDITS_QUEUE).fetch_one(pool).await?)
}
