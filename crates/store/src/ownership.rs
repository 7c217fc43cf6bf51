//! Reads behind `OwnershipService`: one decision or account ruling by its intent id, a lead's
//! account, and the accounts whose open leads have more than one owning rep or an owner
//! other than the account's (view `account_ownership_conflicts`).

use chrono::{DateTime, Utc};
use leadledger_domain::account::ownership::{HeldBy, Holder, OwnershipMode, Rule};
pub use leadledger_projection::accounts::RulingRow;
pub use leadledger_projection::DecisionRow;
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

const DECISION: &str = include_str!("sql/ownership_decision.sql");
const CONFLICTS: &str = include_str!("sql/ownership_conflicts.sql");
const RULING: &str = include_str!("sql/account_ruling.sql");
const ACCOUNT_OF_LEAD: &str = include_str!("sql/accounts_of_lead.sql");

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

/// A stored ownership mode, as the rows name it.
fn mode(s: &str) -> Result<&'static str, StoreError> {
    OwnershipMode::parse(s)
        .map(OwnershipMode::as_str)
        .ok_or_else(|| StoreError::Corrupt(format!("ownership mode {s:?}")))
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
            mode: mode(&r.mode)?,
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

/// One account owned by several reps, or by another rep than its holder.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ConflictRow {
    pub account_key: String,
    pub company_domain: String,
    pub reps: Vec<String>,
    pub open_leads: i64,
    /// Per rep of `reps`: their open leads of the account, and since when they own the
    /// earliest.
    pub rep_open_leads: Vec<i64>,
    pub rep_since: Vec<Option<DateTime<Utc>>>,
    pub tier: String,
    pub holder_rep_id: String,
    pub holder_team: Option<String>,
    pub holder_since: Option<DateTime<Utc>>,
    pub holder_by: String,
}

impl ConflictRow {
    /// The account's holder, if any.
    pub fn holder(&self) -> Option<Holder> {
        Some(Holder {
            rep_id: self.holder_rep_id.clone(),
            team: self.holder_team.clone().unwrap_or_default(),
            since: self.holder_since?,
            by: HeldBy::parse(&self.holder_by)?,
        })
        .filter(|h| !h.rep_id.is_empty())
    }
}

/// A page of conflicts ordered by account, after `after` (exclusive).
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

/// The account lead `lead` is in (its survivor's, when merged into another), as the read
/// models hold it; `None` for a lead they do not hold.
pub async fn account_of_lead(
    pool: &PgPool,
    tenant: &str,
    lead: &str,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(ACCOUNT_OF_LEAD)
        .bind(tenant)
        .bind(lead)
        .fetch_optional(pool)
        .await?)
}

/// `account_rulings` as selected.
#[derive(sqlx::FromRow)]
struct StoredRuling {
    tenant_id: String,
    intent_id: Uuid,
    account_key: String,
    lead_id: String,
    log_partition: i32,
    log_offset: i64,
    mode: String,
    rep_id: String,
    team: String,
    requested_by: String,
    requested_at: DateTime<Utc>,
    tier: String,
    rule: String,
    allowed: bool,
    holder_rep_id: String,
    holder_team: String,
    holder_since: Option<DateTime<Utc>>,
    holder_by: String,
    reason: String,
}

/// The ruling on one account intent, if the projector has made it (scoped to the tenant).
pub async fn ruling(
    pool: &PgPool,
    tenant: &str,
    intent_id: Uuid,
) -> Result<Option<RulingRow>, StoreError> {
    let row: Option<StoredRuling> = sqlx::query_as(RULING)
        .bind(intent_id)
        .bind(tenant)
        .fetch_optional(pool)
        .await?;
    row.map(|r| {
        let corrupt =
            |what: &str, v: &str| StoreError::Corrupt(format!("account ruling {what} {v:?}"));
        let holder = match (r.holder_rep_id.is_empty(), r.holder_since) {
            (false, Some(since)) => Some(Holder {
                by: HeldBy::parse(&r.holder_by)
                    .ok_or_else(|| corrupt("holder_by", &r.holder_by))?,
                rep_id: r.holder_rep_id,
                team: r.holder_team,
                since,
            }),
            _ => None,
        };
        Ok(RulingRow {
            mode: mode(&r.mode)?,
            rule: Rule::parse(&r.rule).ok_or_else(|| corrupt("rule", &r.rule))?,
            intent_id: r.intent_id,
            tenant: r.tenant_id,
            account: r.account_key,
            lead: r.lead_id,
            partition: r.log_partition,
            offset: r.log_offset,
            rep_id: r.rep_id,
            team: r.team,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            tier: r.tier,
            allowed: r.allowed,
            holder,
            reason: r.reason,
        })
    })
    .transpose()
}
