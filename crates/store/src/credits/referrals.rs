//! Referrals as the credits read them (docs/ATTRIBUTION.md, "Referrals"): which leads a
//! changed lead referred (they are recomputed with it), and each referrer's source, through
//! the merges of the moment (a merged referrer's source is its survivor's).

use std::collections::{BTreeSet, HashMap};

use leadledger_attribution::referral::{self, Source};
use leadledger_attribution::Journey;
use leadledger_projection::credits::LeadKey;
use sqlx::PgConnection;

use crate::StoreError;

const REFERRED_BY: &str = include_str!("sql/referred_by.sql");
const REFERRER_SOURCES: &str = include_str!("sql/referrer_sources.sql");

/// The leads (each as its group's root) whose referrals name one of `leads` or a lead merged
/// into one of them, `leads` themselves left out.
pub async fn referred_by(
    conn: &mut PgConnection,
    leads: &BTreeSet<LeadKey>,
) -> Result<BTreeSet<LeadKey>, StoreError> {
    if leads.is_empty() {
        return Ok(BTreeSet::new());
    }
    let (tenants, ids): (Vec<&str>, Vec<&str>) =
        leads.iter().map(|(t, l)| (t.as_str(), l.as_str())).unzip();
    // The leads and every member of their groups: a referral may name a merged lead.
    let roots = crate::identity::groups(&mut *conn, &tenants, &ids).await?;
    let mut named: BTreeSet<(&str, &str)> = tenants.iter().copied().zip(ids).collect();
    named.extend(roots.keys().map(|(t, l)| (t.as_str(), l.as_str())));
    let (tenants, ids): (Vec<&str>, Vec<&str>) = named.into_iter().unzip();
    let referred: Vec<LeadKey> = sqlx::query_as(REFERRED_BY)
        .bind(&tenants)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let (tenants, ids): (Vec<&str>, Vec<&str>) = referred
        .iter()
        .map(|(t, l)| (t.as_str(), l.as_str()))
        .unzip();
    let roots = crate::identity::groups(&mut *conn, &tenants, &ids).await?;
    Ok(referred
        .iter()
        .map(|k| {
            roots
                .get(k)
                .map_or_else(|| k.clone(), |r| (k.0.clone(), r.clone()))
        })
        .filter(|k| !leads.contains(k))
        .collect())
}

/// Resolves the referrals of `journeys` (of `tenant`'s leads, keyed as the map's keys say)
/// against the referrers' projected sources, through the merges of the moment.
pub async fn resolve<'a>(
    conn: &mut PgConnection,
    journeys: impl IntoIterator<Item = (&'a str, &'a mut Journey)>,
) -> Result<(), StoreError> {
    let mut referring: Vec<(&'a str, &'a mut Journey)> = journeys
        .into_iter()
        .filter(|(_, j)| !j.referrals.is_empty())
        .collect();
    if referring.is_empty() {
        return Ok(());
    }
    let named: BTreeSet<LeadKey> = referring
        .iter()
        .flat_map(|(t, j)| {
            j.referrals
                .iter()
                .map(|r| (t.to_string(), r.referrer.clone()))
        })
        .collect();
    let (tenants, ids): (Vec<&str>, Vec<&str>) =
        named.iter().map(|(t, l)| (t.as_str(), l.as_str())).unzip();
    let roots = crate::identity::groups(&mut *conn, &tenants, &ids).await?;
    let root_of = |k: &LeadKey| {
        roots
            .get(k)
            .map_or_else(|| k.clone(), |r| (k.0.clone(), r.clone()))
    };
    let wanted: BTreeSet<LeadKey> = named.iter().map(root_of).collect();
    let (tenants, ids): (Vec<&str>, Vec<&str>) =
        wanted.iter().map(|(t, l)| (t.as_str(), l.as_str())).unzip();
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(REFERRER_SOURCES)
        .bind(&tenants)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let sources: HashMap<LeadKey, Source> = rows
        .into_iter()
        .map(|(t, l, channel, campaign)| ((t, l), Source { channel, campaign }))
        .collect();
    for (tenant, j) in referring.iter_mut() {
        referral::resolve(
            j,
            |referrer| root_of(&(tenant.to_string(), referrer.to_string())).1,
            |root| {
                sources
                    .get(&(tenant.to_string(), root.to_string()))
                    .cloned()
            },
        );
    }
    Ok(())
}
