//! Referrals as the credits read them (docs/ATTRIBUTION.md, "Referrals"): which leads a
//! changed lead referred (they are recomputed with it; for a signed lead, also those its
//! account colleagues referred), and each referrer's source and account, through the merges
//! of the moment (a merged referrer's source is its survivor's).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use leadledger_attribution::referral::{self, Source};
use leadledger_attribution::Journey;
use leadledger_projection::credits::LeadKey;
use sqlx::PgConnection;

use super::rows::unzip_leads;
use crate::StoreError;

const REFERRED_BY: &str = include_str!("sql/referred_by.sql");
const REFERRER_SOURCES: &str = include_str!("sql/referrer_sources.sql");
const SIGNED_COLLEAGUES: &str = include_str!("sql/signed_colleagues.sql");

/// The leads (each as its group's root) whose referrals name one of `leads` or a lead merged
/// into one of them, `leads` themselves left out.
pub async fn referred_by(
    conn: &mut PgConnection,
    leads: &BTreeSet<LeadKey>,
) -> Result<BTreeSet<LeadKey>, StoreError> {
    if leads.is_empty() {
        return Ok(BTreeSet::new());
    }
    // The leads and every member of their groups: a referral may name a merged lead. And
    // the colleagues of those that signed: their account may have become a customer.
    let (tenants, ids) = unzip_leads(leads);
    let colleagues: Vec<LeadKey> = sqlx::query_as(SIGNED_COLLEAGUES)
        .bind(&tenants)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let mut named = leads.clone();
    named.extend(colleagues);
    let members = roots_of(&mut *conn, &named).await?;
    named.extend(members.into_keys());
    let (tenants, ids) = unzip_leads(&named);
    let referred: Vec<LeadKey> = sqlx::query_as(REFERRED_BY)
        .bind(&tenants)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let referred: BTreeSet<LeadKey> = referred.into_iter().collect();
    let roots = roots_of(&mut *conn, &referred).await?;
    Ok(referred
        .iter()
        .map(|k| rooted(&roots, k))
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
    let roots = roots_of(&mut *conn, &named).await?;
    let wanted: BTreeSet<LeadKey> = named.iter().map(|k| rooted(&roots, k)).collect();
    let (tenants, ids) = unzip_leads(&wanted);
    type Row = (
        String,
        String,
        String,
        String,
        String,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = sqlx::query_as(REFERRER_SOURCES)
        .bind(&tenants)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let sources: HashMap<LeadKey, Source> = rows
        .into_iter()
        .map(|(t, l, channel, campaign, account, customer_since)| {
            (
                (t, l),
                Source {
                    channel,
                    campaign,
                    account,
                    customer_since,
                },
            )
        })
        .collect();
    for (tenant, j) in referring.iter_mut() {
        referral::resolve(
            j,
            |referrer| rooted(&roots, &(tenant.to_string(), referrer.to_string())).1,
            |root| {
                sources
                    .get(&(tenant.to_string(), root.to_string()))
                    .cloned()
            },
        );
    }
    Ok(())
}

/// The live merges and links of the groups of `leads`: member → its root.
async fn roots_of(
    conn: &mut PgConnection,
    leads: &BTreeSet<LeadKey>,
) -> Result<HashMap<LeadKey, String>, StoreError> {
    let (tenants, ids) = unzip_leads(leads);
    crate::identity::groups(conn, &tenants, &ids).await
}

/// `k` as its group's root (itself when it is in no group).
fn rooted(roots: &HashMap<LeadKey, String>, k: &LeadKey) -> LeadKey {
    roots
        .get(k)
        .map_or_else(|| k.clone(), |r| (k.0.clone(), r.clone()))
}
