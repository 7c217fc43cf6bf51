//! `ownership_decisions`: the decided `ClaimLead` / `AssignLead` intents.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use leadledger_projection::DecisionRow;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::columns::column_arrays;
use crate::StoreError;

const GRANTED: &str = include_str!("sql/granted.sql");
const INSERT: &str = include_str!("sql/insert_decisions.sql");

column_arrays! {
    /// `ownership_decisions` rows.
    struct DecisionRows<'a> {
        intent: Uuid,
        tenant: &'a str,
        lead: &'a str,
        partition: i32,
        offset: i64,
        mode: &'a str,
        rep: &'a str,
        team: &'a str,
        requested_by: &'a str,
        expected_rep: &'a str,
        requested_at: DateTime<Utc>,
        granted: bool,
        owner_before: &'a str,
        reason: &'a str,
    }
}

/// The granted ownership requests of the given leads.
pub(crate) async fn granted(
    tx: &mut Transaction<'static, Postgres>,
    tenants: &[&str],
    leads: &[&str],
) -> Result<HashSet<Uuid>, StoreError> {
    let ids: Vec<Uuid> = sqlx::query_scalar(GRANTED)
        .bind(tenants)
        .bind(leads)
        .fetch_all(&mut **tx)
        .await?;
    Ok(ids.into_iter().collect())
}

/// Stores the decisions.
pub(super) async fn insert(
    tx: &mut Transaction<'static, Postgres>,
    decisions: &[DecisionRow],
) -> Result<(), StoreError> {
    if decisions.is_empty() {
        return Ok(());
    }
    let mut rows = DecisionRows::default();
    for d in decisions {
        rows.push(
            d.intent_id,
            &d.tenant,
            &d.lead,
            d.partition,
            d.offset,
            d.mode,
            &d.rep_id,
            &d.team,
            &d.requested_by,
            &d.expected_rep_id,
            d.requested_at,
            d.granted,
            &d.owner_before,
            &d.reason,
        );
    }
    rows.bind(sqlx::query(INSERT)).execute(&mut **tx).await?;
    Ok(())
}
