//! Reads behind `OwnershipService`: one decision by its intent id, and the accounts whose
//! open leads have more than one owning rep (view `account_ownership_conflicts`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

const DECISION: &str = include_str!("sql/ownership_decision.sql");
const CONFLICTS: &str = include_str!("sql/ownership_conflicts.sql");

/// A row of `ownership_decisions`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DecisionRow {
    pub intent_id: Uuid,
    pub tenant_id: String,
    pub lead_id: String,
    pub log_partition: i32,
    pub log_offset: i64,
    pub mode: String,
    pub rep_id: String,
    pub team: String,
    pub requested_by: String,
    pub expected_rep_id: String,
    pub requested_at: DateTime<Utc>,
    pub granted: bool,
    pub owner_before: String,
    pub reason: String,
}

/// The decision of one intent, if the projector has made it. Scoped to the tenant, so an
/// intent id of another tenant reads as undecided.
pub async fn decision(
    pool: &PgPool,
    tenant: &str,
    intent_id: Uuid,
) -> Result<Option<DecisionRow>, StoreError> {
    Ok(sqlx::query_as(DECISION)
        .bind(intent_id)
        .bind(tenant)
        .fetch_optional(pool)
        .await?)
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
