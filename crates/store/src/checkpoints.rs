//! Projector checkpoints: the next offset to apply per partition, stored with the read
//! models in one transaction. The projector seeks to them on assignment; queries compare a
//! consistency token against them to read their own writes.

use std::collections::BTreeMap;

use sqlx::PgExecutor;

use crate::StoreError;

const LOAD: &str = include_str!("sql/checkpoints_load.sql");
const LOAD_TRACED: &str = include_str!("sql/checkpoints_load_traced.sql");

/// The name of the core projection (leads, timeline, stages).
pub const CORE: &str = "core";

/// The channel notified (inside the projection transaction, so at commit) whenever
/// checkpoints move; the payload is the topic.
pub const NOTIFY_CHANNEL: &str = "leadledger_applied";

/// Next offset to apply, by partition. Takes a pool or a single connection (the rebalance
/// callback reads on a connection of its own).
pub async fn load<'e>(
    db: impl PgExecutor<'e>,
    projection: &str,
    topic: &str,
) -> Result<BTreeMap<i32, i64>, StoreError> {
    let rows: Vec<(i32, i64)> = sqlx::query_as(LOAD)
        .bind(projection)
        .bind(topic)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// [`load`], with the W3C `traceparent` of the batch that last moved each checkpoint (where
/// traces were on).
pub async fn load_traced<'e>(
    db: impl PgExecutor<'e>,
    projection: &str,
    topic: &str,
) -> Result<BTreeMap<i32, (i64, Option<String>)>, StoreError> {
    let rows: Vec<(i32, i64, Option<String>)> = sqlx::query_as(LOAD_TRACED)
        .bind(projection)
        .bind(topic)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|(p, o, t)| (p, (o, t))).collect())
}
