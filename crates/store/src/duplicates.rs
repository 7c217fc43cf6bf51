//! Duplicate candidates (docs/IDENTITY.md): live leads sharing a duplicate rule's key, read
//! from the keys the projector writes when a lead's contact may have changed
//! (`lead_match_keys`, computed by `leadledger_domain::identity::matching`). SQL compares the
//! keys, never normalises.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use leadledger_domain::identity::matching::{self, Rule};
use sqlx::{PgExecutor, PgPool};

use crate::StoreError;

const KEYS_OF_TENANT: &str = include_str!("sql/duplicates_keys_tenant.sql");
const KEYS_OF_LEAD: &str = include_str!("sql/duplicates_keys_lead.sql");
const PAIRS: &str = include_str!("sql/duplicates_pairs.sql");
const LEADS: &str = include_str!("sql/duplicates_leads.sql");
const TENANTS: &str = include_str!("sql/duplicates_tenants.sql");
const SEPARATED: &str = include_str!("sql/duplicates_separated.sql");

/// A rule's bit in the SQL's masks (the order of [`Rule::ALL`]).
fn bit(rule: Rule) -> i32 {
    match rule {
        Rule::Email => 1,
        Rule::Phone => 2,
        Rule::NameCompany => 4,
    }
}

/// The rules of a mask, strongest first.
fn rules_of(mask: i32) -> Vec<Rule> {
    Rule::ALL
        .into_iter()
        .filter(|r| mask & bit(*r) != 0)
        .collect()
}

/// Every non-empty mask and its score, for the SQL to look up (one score per set of rules,
/// computed here: the SQL never sums floats, so a page token's score compares exactly).
fn mask_scores() -> &'static (Vec<i32>, Vec<f64>) {
    static SCORES: OnceLock<(Vec<i32>, Vec<f64>)> = OnceLock::new();
    SCORES.get_or_init(|| {
        (1..8)
            .map(|mask| (mask, matching::score(&rules_of(mask))))
            .unzip()
    })
}

/// Two leads that may be one person.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The pair, in id order.
    pub lead_a: String,
    pub lead_b: String,
    /// The rules they match, strongest first.
    pub rules: Vec<Rule>,
    /// [`matching::score`] of the rules.
    pub score: f64,
}

/// Where a page ends: the last pair's score and ids.
#[derive(Debug, Clone, PartialEq)]
pub struct After {
    pub score: f64,
    pub lead_a: String,
    pub lead_b: String,
}

/// Which candidates to list.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    /// Only pairs with this lead.
    pub lead: Option<&'a str>,
    /// With pairs split by an unmerge (someone said they are two people): an unmerge of a
    /// lead of one's group from a lead of the other's.
    pub include_separated: bool,
    /// Only pairs matching at least one of these rules (empty: any).
    pub rules: &'a [Rule],
    /// Only pairs scoring at least this.
    pub min_score: f64,
    /// After this pair (the previous page's last).
    pub after: Option<&'a After>,
}

/// Up to `limit` candidate pairs of `tenant`, best score first, then by ids.
pub async fn candidates<'e>(
    db: impl PgExecutor<'e>,
    tenant: &str,
    filter: &Filter<'_>,
    limit: i64,
) -> Result<Vec<Candidate>, StoreError> {
    static OF_TENANT: OnceLock<String> = OnceLock::new();
    static OF_LEAD: OnceLock<String> = OnceLock::new();
    let sql = match filter.lead {
        None => OF_TENANT.get_or_init(|| format!("{KEYS_OF_TENANT}{PAIRS}")),
        Some(_) => OF_LEAD.get_or_init(|| format!("{KEYS_OF_LEAD}{PAIRS}")),
    };
    // The filters by rule and score pick the masks the SQL may join.
    let (masks, scores): (Vec<i32>, Vec<f64>) = {
        let (masks, scores) = mask_scores();
        let wanted = filter.rules.iter().fold(0, |m, r| m | bit(*r));
        masks
            .iter()
            .zip(scores)
            .filter(|(m, s)| (wanted == 0 || *m & wanted != 0) && **s >= filter.min_score)
            .map(|(m, s)| (*m, *s))
            .unzip()
    };
    let rows: Vec<(String, String, i32, f64)> = sqlx::query_as(sql)
        .bind(tenant)
        .bind(i64::try_from(matching::MAX_SHARING).unwrap_or(i64::MAX))
        .bind(&masks)
        .bind(&scores)
        .bind(filter.include_separated)
        .bind(filter.after.map(|a| a.score))
        .bind(filter.after.map(|a| a.lead_a.as_str()))
        .bind(filter.lead.unwrap_or(""))
        .bind(limit)
        .bind(filter.after.map(|a| a.lead_b.as_str()))
        .fetch_all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(lead_a, lead_b, mask, score)| Candidate {
            lead_a,
            lead_b,
            rules: rules_of(mask),
            score,
        })
        .collect())
}

/// A candidate lead as the auto-merge worker weighs it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LeadFacts {
    pub lead_id: String,
    pub captured_at: Option<DateTime<Utc>>,
    /// Leads are merged into it already (so it can only be a survivor).
    pub has_merged: bool,
}

/// [`LeadFacts`] of the live leads among `leads`.
pub async fn lead_facts(
    pool: &PgPool,
    tenant: &str,
    leads: &[String],
) -> Result<Vec<LeadFacts>, StoreError> {
    Ok(sqlx::query_as(LEADS)
        .bind(tenant)
        .bind(leads)
        .fetch_all(pool)
        .await?)
}

/// The pairs of live `leads` whose groups an unmerge split (a person said they are two).
pub async fn separated(
    pool: &PgPool,
    tenant: &str,
    leads: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(sqlx::query_as(SEPARATED)
        .bind(tenant)
        .bind(leads)
        .fetch_all(pool)
        .await?)
}

/// The tenants with live leads.
pub async fn tenants(pool: &PgPool) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(TENANTS).fetch_all(pool).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mask_names_its_rules_and_their_score() {
        let (masks, scores) = mask_scores();
        assert_eq!(masks.len(), 7);
        for (m, s) in masks.iter().zip(scores) {
            let rules = rules_of(*m);
            assert_eq!(rules.iter().map(|r| bit(*r)).sum::<i32>(), *m);
            assert_eq!(*s, matching::score(&rules));
        }
        assert_eq!(rules_of(5), vec![Rule::Email, Rule::NameCompany]);
    }
}
