//! Merged groups in the projection transaction: the locks that keep a group's folds in order,
//! the live merges and visitors' links a batch reads, and the decisions it writes
//! (`identity_decisions`, `lead_merges`, `visitor_links`).
//!
//! A merged group's facts sit on several partitions, which different projector transactions
//! apply at once. Two rules keep its rows the fold of all of them:
//! - every transaction reads the membership under a shared lock that a transaction deciding
//!   merges takes alone, so no fold uses a membership being changed;
//! - a transaction folding a group of more than one lead takes that group's lock before it
//!   reads the group's stored events, so two of them fold it one after the other, the second
//!   from what the first committed.

use std::collections::HashMap;

use leadledger_domain::identity::Merges;
use leadledger_projection::identity::IdentityRow;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::StoreError;

const LOCK: &str = include_str!("sql/identity_lock.sql");
const GROUP_LOCK: &str = include_str!("sql/identity_group_lock.sql");
const LIVE: &str = include_str!("sql/identity_live.sql");
const INSERT_DECISION: &str = include_str!("sql/insert_identity_decisions.sql");
const INSERT_MERGE: &str = include_str!("sql/insert_merge.sql");
const CLOSE_MERGE: &str = include_str!("sql/close_merge.sql");
const LINKS: &str = include_str!("sql/identity_links.sql");
const INSERT_LINK: &str = include_str!("sql/insert_link.sql");

/// Takes the membership lock alone, upgrading a shared hold (for a batch begun without
/// saying it decides; `sql/begin_alone.sql` takes it alone from the start).
pub(super) async fn lock_alone(tx: &mut Transaction<'static, Postgres>) -> Result<(), StoreError> {
    sqlx::query(LOCK).execute(&mut **tx).await?;
    Ok(())
}

/// The live merges of `tenants`, with the pairs their unmerges split.
pub(super) async fn live(
    tx: &mut Transaction<'static, Postgres>,
    tenants: &[&str],
) -> Result<HashMap<String, Merges>, StoreError> {
    let rows: Vec<(String, String, String, bool)> = sqlx::query_as(LIVE)
        .bind(tenants)
        .fetch_all(&mut **tx)
        .await?;
    type Pairs = Vec<(String, String)>;
    let mut by_tenant: HashMap<String, (Pairs, Pairs)> = HashMap::new();
    for (t, lead, survivor, stands) in rows {
        let (live, split) = by_tenant.entry(t).or_default();
        if stands { live } else { split }.push((lead, survivor));
    }
    Ok(by_tenant
        .into_iter()
        .map(|(t, (live, split))| (t, Merges::new(live).with_separations(split)))
        .collect())
}

/// The stored links of the visitors `(tenants[i], visitors[i])`: `(tenant, visitor key)` →
/// lead.
pub(super) async fn links(
    tx: &mut Transaction<'static, Postgres>,
    tenants: &[&str],
    visitors: &[&str],
) -> Result<HashMap<(String, String), String>, StoreError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(LINKS)
        .bind(tenants)
        .bind(visitors)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().map(|(t, v, l)| ((t, v), l)).collect())
}

/// Takes the locks of the groups whose survivors are `roots` (in one order for everyone).
pub(super) async fn lock_groups<'a>(
    tx: &mut Transaction<'static, Postgres>,
    roots: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), StoreError> {
    let mut keys: Vec<i32> = roots
        .into_iter()
        .map(|(t, r)| {
            let h = Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("{t}/{r}").as_bytes());
            let b = h.as_bytes();
            i32::from_be_bytes([b[0], b[1], b[2], b[3]])
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    for k in keys {
        sqlx::query(GROUP_LOCK).bind(k).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Stores the decisions, and applies the granted ones to `lead_merges` and `visitor_links`
/// in log order.
pub(super) async fn write(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[IdentityRow],
) -> Result<(), StoreError> {
    for r in rows {
        sqlx::query(INSERT_DECISION)
            .bind(r.intent_id)
            .bind(&r.tenant)
            .bind(r.partition)
            .bind(r.offset)
            .bind(r.kind)
            .bind(&r.survivor)
            .bind(&r.leads)
            .bind(&r.requested_by)
            .bind(&r.why)
            .bind(r.requested_at)
            .bind(r.granted)
            .bind(&r.refusal)
            .execute(&mut **tx)
            .await?;
        for (lead, _, after) in &r.moves {
            if r.kind == "link" {
                // A link moves its visitor from no group into its lead's.
                sqlx::query(INSERT_LINK)
                    .bind(&r.tenant)
                    .bind(lead)
                    .bind(&r.survivor)
                    .bind(r.intent_id)
                    .bind(r.requested_at)
                    .bind(r.recorded_at)
                    .bind(&r.requested_by)
                    .execute(&mut **tx)
                    .await?;
                continue;
            }
            match after {
                Some(survivor) => {
                    sqlx::query(INSERT_MERGE)
                        .bind(&r.tenant)
                        .bind(lead)
                        .bind(survivor)
                        .bind(r.intent_id)
                        .bind(r.requested_at)
                        .bind(r.recorded_at)
                        .bind(&r.requested_by)
                        .bind(&r.why)
                        .execute(&mut **tx)
                        .await?;
                }
                None => {
                    sqlx::query(CLOSE_MERGE)
                        .bind(&r.tenant)
                        .bind(lead)
                        .bind(r.intent_id)
                        .bind(r.requested_at)
                        .bind(r.recorded_at)
                        .bind(&r.requested_by)
                        .bind(&r.why)
                        .execute(&mut **tx)
                        .await?;
                }
            }
        }
    }
    Ok(())
}
