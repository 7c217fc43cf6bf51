//! Merged leads as readers see them (docs/IDENTITY.md): which survivor's timeline holds a
//! lead's facts, the merges of a group for the audit, and identity decisions for the commands
//! that wait on them. The projector writes these rows (`projection::identity`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::StoreError;

const GROUPS: &str = include_str!("sql/identity_groups.sql");
const MERGES_OF: &str = include_str!("sql/identity_merges_of.sql");
const KNOWN: &str = include_str!("sql/identity_known.sql");
const DECISION: &str = include_str!("sql/identity_decision.sql");

/// `(tenant, lead)`.
pub type LeadKey = (String, String);

/// The groups of some leads and visitors, as [`groups_with_links`] reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Groups {
    /// Every member of the groups but their roots (a merged lead, a linked visitor) → root.
    pub root: HashMap<LeadKey, String>,
    /// The linked visitors among them → the lead each is linked to.
    pub via: HashMap<LeadKey, String>,
}

/// Every live merge and link of the groups of `(tenants[i], ids[i])` (leads or visitor
/// keys): merged lead or linked visitor → its root.
pub async fn groups<'e>(
    db: impl PgExecutor<'e>,
    tenants: &[&str],
    ids: &[&str],
) -> Result<HashMap<LeadKey, String>, StoreError> {
    Ok(groups_with_links(db, tenants, ids).await?.root)
}

/// Like [`groups`], with the lead each linked visitor is linked to.
pub async fn groups_with_links<'e>(
    db: impl PgExecutor<'e>,
    tenants: &[&str],
    ids: &[&str],
) -> Result<Groups, StoreError> {
    let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(GROUPS)
        .bind(tenants)
        .bind(ids)
        .fetch_all(db)
        .await?;
    let mut g = Groups::default();
    for (t, member, root, via) in rows {
        if let Some(lead) = via {
            g.via.insert((t.clone(), member.clone()), lead);
        }
        g.root.insert((t, member), root);
    }
    Ok(g)
}

/// One merge of a lead into a survivor, and its unmerge if any.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MergeRow {
    pub lead_id: String,
    pub survivor_id: String,
    pub merge_intent: Uuid,
    pub merged_at: DateTime<Utc>,
    pub merged_by: String,
    pub merge_reason: String,
    pub unmerge_intent: Option<Uuid>,
    pub unmerged_at: Option<DateTime<Utc>>,
    pub unmerged_by: Option<String>,
    pub unmerge_reason: Option<String>,
}

/// The merges into `survivor`, live and past, oldest first; and the live merge of `survivor`
/// into another lead, if it is merged.
pub async fn merges_of<'e>(
    db: impl PgExecutor<'e>,
    tenant: &str,
    survivor: &str,
) -> Result<Vec<MergeRow>, StoreError> {
    Ok(sqlx::query_as(MERGES_OF)
        .bind(tenant)
        .bind(survivor)
        .fetch_all(db)
        .await?)
}

/// Which of `leads` the ledger knows (a lead, or a lead merged into one).
pub async fn known(pool: &PgPool, tenant: &str, leads: &[&str]) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(KNOWN)
        .bind(tenant)
        .bind(leads)
        .fetch_all(pool)
        .await?)
}

/// A stored identity decision.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DecisionRow {
    pub intent_id: Uuid,
    pub kind: String,
    pub survivor_id: String,
    pub lead_ids: Vec<String>,
    pub requested_at: DateTime<Utc>,
    pub granted: bool,
    pub refusal: String,
    pub log_partition: i32,
    pub log_offset: i64,
}

/// The decision of one intent, if the projector has made it (scoped to the tenant).
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

/// The survivor `lead` is live-merged into, if it is.
pub async fn survivor_of(
    pool: &PgPool,
    tenant: &str,
    lead: &str,
) -> Result<Option<String>, StoreError> {
    Ok(merges_of(pool, tenant, lead)
        .await?
        .into_iter()
        .find(|m| m.lead_id == lead && m.unmerge_intent.is_none())
        .map(|m| m.survivor_id))
}
