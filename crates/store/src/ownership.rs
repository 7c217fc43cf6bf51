//! Reads behind `OwnershipService`: one decision by its intent id, and the accounts whose
//! open leads have more than one owning rep (view `account_ownership_conflicts`).

use chrono::{DateTime, Utc};
pub use leadledger_projection::DecisionRow;
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

const DECISION: &str = include_str!("sql/ownership_decision.sql");
const CONFLICTS: &str = include_str!("sql/ownership_conflicts.sql");

/// `ownership_decisions` as selected.
#[derive(sqlx::FromRow)]
struct StoredDecision {
    intent_id: Uuid,
    tenant_id: String,
    lead_id: String,
    log_partition: i32,
    log_offset: i64,
    mode: String,
    rep_id: String,
    team: String,
    requested_by: String,
    expected_rep_id: String,
    requested_at: DateTime<Utc>,
    granted: bool,
    owner_before: String,
    reason: String,
}

/// The decision of one intent, if the projector has made it. Scoped to the tenant, so an
/// intent id of another tenant reads as undecided.
pub async fn decision(
    pool: &PgPool,
    tenant: &str,
    intent_id: Uuid,
) -> Result<Option<DecisionRow>, StoreError> {
    let row: Option<StoredDecision> = sqlx::query_as(DECISION)
        .bind(intent_id)
        .bind(tenant)
        .fetch_optional(pool)
        .await?;
    row.map(|r| {
        Ok(DecisionRow {
            mode: match r.mode.as_str() {
                "claim" => "claim",
                "assign" => "assign",
                other => return Err(StoreError::Corrupt(format!("ownership mode {other:?}"))),
            },
            intent_id: r.intent_id,
            tenant: r.tenant_id,
            lead: r.lead_id,
            partition: r.log_partition,
            offset: r.log_offset,
            rep_id: r.rep_id,
            team: r.team,
            requested_by: r.requested_by,
            expected_rep_id: r.expected_rep_id,
            requested_at: r.requested_at,
            granted: r.granted,
            owner_before: r.owner_before,
            reason: r.reason,
        })
    })
    .transpose()
}

/// One account owned by several reps.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ConflictRow {
    pub company_domain: String,
    pub reps: Vec<String>,
    pub open_leads: i64,
}

/// A page of conflicts ordered by company domain, after `after` (exclusive).
pub async fn conflicts(
    pool: &PgPool,
    tenant: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<ConflictRow>, StoreError> {
    Ok(sqlx::query_as(CONFLICTS)
        .bind(tenant)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}
