//! Moving a projection's checkpoints, and noticing a database that lost commits.

use std::collections::BTreeMap;

use sqlx::{Postgres, Transaction};

use crate::checkpoints::{self, NOTIFY_CHANNEL};
use crate::StoreError;

const MOVE: &str = include_str!("sql/move_checkpoints.sql");

/// Moves the checkpoints to `next_offsets`, after checking (in the same statement, one round
/// trip) that none of the stored ones is behind `committed` ([`check_not_behind`]).
pub(super) async fn move_to(
    tx: &mut Transaction<'static, Postgres>,
    projection: &str,
    topic: &str,
    committed: &BTreeMap<i32, i64>,
    next_offsets: &BTreeMap<i32, i64>,
    batch_trace: Option<&str>,
) -> Result<(), StoreError> {
    if next_offsets.is_empty() {
        if committed.values().any(|o| *o > 0) {
            let stored = checkpoints::load(&mut **tx, projection, topic).await?;
            check_not_behind(topic, &stored, committed)?;
        }
        return Ok(());
    }
    let (parts, offs): (Vec<i32>, Vec<i64>) = next_offsets.iter().map(|(p, o)| (*p, *o)).unzip();
    let prev: Vec<(Option<i32>, Option<i64>)> = sqlx::query_as(MOVE)
        .bind(projection)
        .bind(topic)
        .bind(&parts)
        .bind(&offs)
        .bind(NOTIFY_CHANNEL)
        .bind(batch_trace)
        .fetch_all(&mut **tx)
        .await?;
    let prev = prev
        .into_iter()
        .filter_map(|(p, o)| Some((p?, o?)))
        .collect();
    check_not_behind(topic, &prev, committed)
}

/// Fails with [`StoreError::CheckpointBehind`] if a `stored` checkpoint (as this transaction
/// found it) is behind `committed`. A concurrent projector can only move a checkpoint
/// forward (`GREATEST`), so a stored value behind one this caller saw committed can only come
/// from a loss. The caller drops the transaction: nothing of the batch commits.
fn check_not_behind(
    topic: &str,
    stored: &BTreeMap<i32, i64>,
    committed: &BTreeMap<i32, i64>,
) -> Result<(), StoreError> {
    for (p, c) in committed {
        let s = stored.get(p).copied().unwrap_or(0);
        if s < *c {
            return Err(StoreError::CheckpointBehind {
                topic: topic.to_string(),
                partition: *p,
                stored: s,
                committed: *c,
            });
        }
    }
    Ok(())
}
