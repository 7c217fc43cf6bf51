//! The data keys contacts are sealed with (docs/PRIVACY.md): made by ingest on a lead's first
//! capture, read by the projector to open sealed contacts, destroyed by an erasure.
//!
//! A key's bytes are in this table and nowhere else: not in the log, not in `lead_events`,
//! not in a log line. Destroying them (`key` set to NULL) is the erasure; the row stays, so an
//! audit sees when.

use std::collections::HashMap;

use leadledger_api::sealed::{DataKey, KEY_LEN};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::StoreError;

const ISSUE: &str = include_str!("sql/contact_keys_issue.sql");
const BY_ID: &str = include_str!("sql/contact_keys_by_id.sql");
const DESTROY: &str = include_str!("sql/contact_keys_destroy.sql");
const KNOWN: &str = include_str!("sql/contact_keys_known.sql");

/// A lead: `(tenant, lead)`.
pub type LeadKey = (String, String);

/// The live data key of each lead of `leads`, made for those that have none, in one round
/// trip when nobody races for the same leads. Two callers racing for one lead get the same
/// key (the loser asks again); so does a capture racing an erasure (a new key).
pub async fn issue(
    pool: &PgPool,
    leads: &[(&str, &str)],
) -> Result<HashMap<LeadKey, DataKey>, StoreError> {
    let mut out: HashMap<LeadKey, DataKey> = HashMap::with_capacity(leads.len());
    let mut wanted: Vec<(&str, &str)> = leads.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    for attempt in 0..4 {
        let missing: Vec<(&str, &str)> = wanted
            .iter()
            .filter(|(t, l)| !out.contains_key(&(t.to_string(), l.to_string())))
            .copied()
            .collect();
        if missing.is_empty() {
            return Ok(out);
        }
        if attempt == 3 {
            break;
        }
        let (tenants, ids): (Vec<&str>, Vec<&str>) = missing.iter().copied().unzip();
        let fresh = missing
            .iter()
            .map(|_| DataKey::generate())
            .collect::<Result<Vec<_>, _>>()?;
        let key_ids: Vec<Uuid> = fresh.iter().map(|k| k.id).collect();
        let bytes: Vec<&[u8]> = fresh.iter().map(|k| &k.bytes[..]).collect();
        let rows: Vec<(String, String, Uuid, Vec<u8>)> = sqlx::query_as(ISSUE)
            .bind(&tenants)
            .bind(&ids)
            .bind(&key_ids)
            .bind(&bytes)
            .fetch_all(pool)
            .await?;
        for (t, l, id, key) in rows {
            out.insert((t, l), data_key(id, key)?);
        }
    }
    Err(StoreError::Refused(
        "no live data key after three attempts (erasures racing captures of the same leads); \
         retry"
            .into(),
    ))
}

fn data_key(id: Uuid, key: Vec<u8>) -> Result<DataKey, StoreError> {
    let bytes: [u8; KEY_LEN] = key.try_into().map_err(|_| {
        StoreError::Corrupt(format!("contact_keys: key {id} is not {KEY_LEN} bytes"))
    })?;
    Ok(DataKey { id, bytes })
}

/// The bytes of the keys among `ids` not destroyed.
pub async fn by_id<'e>(
    db: impl PgExecutor<'e>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<u8>>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(BY_ID).bind(ids).fetch_all(db).await?;
    Ok(rows.into_iter().collect())
}

/// Destroys every live key of the lead; returns the ids destroyed.
pub async fn destroy<'e>(
    db: impl PgExecutor<'e>,
    tenant: &str,
    lead: &str,
) -> Result<Vec<Uuid>, StoreError> {
    Ok(sqlx::query_scalar(DESTROY)
        .bind(tenant)
        .bind(lead)
        .fetch_all(db)
        .await?)
}

/// Whether the ledger was told of a capture of the lead (a key was made for it, or a clear
/// capture of it was projected).
pub async fn captured<'e>(
    db: impl PgExecutor<'e>,
    tenant: &str,
    lead: &str,
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(KNOWN)
        .bind(tenant)
        .bind(lead)
        .fetch_one(db)
        .await?)
}
