//! The auto-merge worker: duplicate candidates matching a tenant's configured auto-merge rules
//! (`identity.auto_merge`, `identity.tenant_auto_merge`) appended as `MergeRequested` intents,
//! with the rule as the reason (docs/IDENTITY.md "Auto-merge").
//!
//! The worker only asks: each intent is decided by the projector in the order of the tenant's
//! identity facts, exactly like a person's `MergeLeads`, so a replay decides the same and a
//! refusal is stored. Its request id is a digest of the survivor and the merged leads, so the
//! same merge asked twice (a restart, a second process before the lock moved) is one fact.
//! Pairs someone split with `UnmergeLead` are never candidates again, so the worker never
//! undoes a person's unmerge.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::Utc;
use leadledger_api::convert::internal_event_to_proto;
use leadledger_domain::event::SourceRef;
use leadledger_domain::identity::auto_merge::{self, Lead, Pair};
use leadledger_domain::identity::matching::Rule;
use leadledger_domain::identity::{self, MergeRequest};
use leadledger_domain::{ids, Event, Payload};
use leadledger_log::{EventProducer, LogError};
use leadledger_store::duplicates::{self, After, Filter};
use leadledger_store::{Store, StoreError};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::gauges;
use crate::Shutdown;

/// The advisory lock of the one auto-merge worker.
pub const LOCK_KEY: i64 = 0x006c_6c61_6d72;

/// Candidate pairs read per query (a tick reads every page).
const PAIRS_PER_PAGE: i64 = 10_000;

/// Which rules merge without a person, per tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoMergeRules {
    /// For every tenant not named below (`identity.auto_merge`; empty: none).
    pub default: Vec<Rule>,
    /// Tenants with their own (`identity.tenant_auto_merge`; an empty list: none).
    pub tenants: BTreeMap<String, Vec<Rule>>,
}

impl AutoMergeRules {
    /// The rules of `tenant`.
    pub fn for_tenant(&self, tenant: &str) -> &[Rule] {
        self.tenants.get(tenant).unwrap_or(&self.default)
    }

    /// No tenant merges automatically.
    pub fn is_off(&self) -> bool {
        self.default.is_empty() && self.tenants.values().all(Vec::is_empty)
    }
}

/// Settings of the auto-merge worker.
#[derive(Debug, Clone)]
pub struct AutoMergeConfig {
    pub rules: AutoMergeRules,
    /// Pause between two ticks (`identity.auto_merge_tick_ms`).
    pub tick: Duration,
}

/// What the worker works with.
#[derive(Clone)]
pub struct Deps {
    pub store: Store,
    /// Appends the intents.
    pub producer: EventProducer,
    pub cfg: AutoMergeConfig,
}

/// Why a term of the worker ended.
#[derive(Debug, thiserror::Error)]
pub enum AutoMergeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("{0}")]
    Internal(String),
}

/// Runs until `stop` is cancelled (at once when no rule is configured). Errors end the
/// current term; the worker pauses a second and competes for the lock again.
pub async fn run(deps: Deps, stop: Shutdown) {
    if deps.cfg.rules.is_off() {
        return;
    }
    while !stop.is_cancelled() {
        if let Err(e) = term(&deps, &stop).await {
            tracing::warn!(error = %e, "auto-merge worker: retrying in 1 s");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn term(deps: &Deps, stop: &Shutdown) -> Result<(), AutoMergeError> {
    let Some(_lock) = crate::singleton::elect(&deps.store, LOCK_KEY, stop).await? else {
        return Ok(());
    };
    tracing::info!(rules = ?deps.cfg.rules, "auto-merge worker: elected");
    let mut pending = Pending::new();
    while !stop.is_cancelled() {
        let appended = tick(deps, &mut pending).await?;
        if appended > 0 {
            tracing::info!(appended, "auto-merge worker tick");
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(deps.cfg.tick) => {}
        }
    }
    Ok(())
}

/// Intents appended and not seen decided yet, with when: an intent is asked for once while it
/// waits (the same id again is harmless, the projector applies it once, but it is noise).
pub type Pending = HashMap<Uuid, Instant>;

/// How long a pending intent keeps its next request back: long past any projector lag.
const PENDING_FOR: Duration = Duration::from_secs(600);

/// Every candidate pair of `tenant` matching `rules`, page by page.
async fn all_pairs(
    pool: &sqlx::PgPool,
    tenant: &str,
    rules: &[Rule],
) -> Result<Vec<Pair>, AutoMergeError> {
    let mut out = Vec::new();
    let mut after: Option<After> = None;
    loop {
        let filter = Filter {
            rules,
            after: after.as_ref(),
            ..Filter::default()
        };
        let page = duplicates::candidates(pool, tenant, &filter, PAIRS_PER_PAGE).await?;
        let full = page.len() as i64 == PAIRS_PER_PAGE;
        after = page.last().map(|c| After {
            score: c.score,
            lead_a: c.lead_a.clone(),
            lead_b: c.lead_b.clone(),
        });
        out.extend(page.into_iter().map(|c| Pair {
            a: c.lead_a,
            b: c.lead_b,
            // Only the auto-merge rules count: a pair matched by them and by another rule
            // merges for these.
            rules: c.rules.into_iter().filter(|r| rules.contains(r)).collect(),
        }));
        if !full {
            return Ok(out);
        }
    }
}

/// One pass over every tenant with rules; returns the intents appended.
pub async fn tick(deps: &Deps, pending: &mut Pending) -> Result<usize, AutoMergeError> {
    let pool = &deps.store.pool;
    pending.retain(|_, at| at.elapsed() < PENDING_FOR);
    let (mut appended, mut waiting) = (0, 0);
    for tenant in duplicates::tenants(pool).await? {
        let rules = deps.cfg.rules.for_tenant(&tenant);
        if rules.is_empty() {
            continue;
        }
        let pairs = all_pairs(pool, &tenant, rules).await?;
        if pairs.is_empty() {
            continue;
        }
        let mut ids: Vec<String> = pairs
            .iter()
            .flat_map(|p| [p.a.clone(), p.b.clone()])
            .collect();
        ids.sort();
        ids.dedup();
        let leads: Vec<Lead> = duplicates::lead_facts(pool, &tenant, &ids)
            .await?
            .into_iter()
            .map(|l| Lead {
                id: l.lead_id,
                captured_at: l.captured_at,
                has_merged: l.has_merged,
            })
            .collect();
        let separated = duplicates::separated(pool, &tenant, &ids).await?;
        let (planned, skipped) = auto_merge::plan(&pairs, &leads, &separated);
        for s in &skipped {
            tracing::debug!(%tenant, leads = ?s.leads, why = %s.why, "auto-merge: left to a person");
        }
        waiting += skipped.len();
        for p in planned {
            let request_id = request_id(&p.survivor, &p.merged);
            let intent = ids::source_event_id(&tenant, identity::SOURCE_SYSTEM, &request_id);
            match leadledger_store::identity::decision(pool, &tenant, intent).await? {
                // Asked before: granted (its leads are gone from the candidates at the next
                // read) or refused (the group changed in the log before it; it stays so).
                Some(d) => {
                    if pending.remove(&intent).is_some() && !d.granted {
                        tracing::info!(%tenant, %intent, refusal = %d.refusal, "auto-merge refused");
                        metrics::counter!(gauges::AUTO_MERGES, "outcome" => "refused").increment(1);
                    }
                    continue;
                }
                // Appended lately, not decided yet.
                None if pending.contains_key(&intent) => continue,
                None => {}
            }
            let event = intent_event(intent, &tenant, &request_id, &p);
            append(&deps.producer, &event).await?;
            pending.insert(intent, Instant::now());
            appended += 1;
            metrics::counter!(gauges::AUTO_MERGES, "outcome" => "appended").increment(1);
        }
    }
    metrics::gauge!(gauges::AUTO_MERGE_WAITING).set(waiting as f64);
    Ok(appended)
}

/// The request id of a planned merge: a digest of its survivor and merged leads.
fn request_id(survivor: &str, merged: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(survivor.as_bytes());
    for m in merged {
        h.update([0x1f]);
        h.update(m.as_bytes());
    }
    format!("auto-merge-{}", &hex::encode(h.finalize())[..32])
}

/// The `MergeRequested` intent of a planned merge, filed under the tenant's identity key.
fn intent_event(id: Uuid, tenant: &str, request_id: &str, p: &auto_merge::Planned) -> Event {
    let rules: Vec<&str> = p.rules.iter().map(|r| r.as_str()).collect();
    let now = Utc::now();
    Event {
        event_id: id,
        tenant_id: tenant.to_string(),
        lead_id: identity::KEY.to_string(),
        occurred_at: now,
        recorded_at: now,
        source: SourceRef {
            system: identity::SOURCE_SYSTEM.to_string(),
            event_id: request_id.to_string(),
        },
        schema_version: leadledger_domain::event::FIRST_SCHEMA_VERSION,
        payload: Payload::MergeRequested(MergeRequest {
            survivor: p.survivor.clone(),
            merged: p.merged.clone(),
            reason: format!("auto-merge rule {}", rules.join("+")),
            requested_by: identity::AUTO_MERGE_BY.to_string(),
        }),
    }
}

async fn append(producer: &EventProducer, event: &Event) -> Result<(), AutoMergeError> {
    let tc = leadledger_log::trace::current_or(&opentelemetry::Context::new());
    let wire = internal_event_to_proto(event, tc)
        .ok_or_else(|| AutoMergeError::Internal("a merge intent has no wire form".into()))?;
    producer.append(&[wire]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_merge_has_the_same_request_id_and_another_another() {
        let a = request_id("s", &["a".into(), "b".into()]);
        assert_eq!(a, request_id("s", &["a".into(), "b".into()]));
        assert_ne!(a, request_id("s", &["ab".into()]));
        assert_ne!(a, request_id("a", &["s".into(), "b".into()]));
        assert!(a.len() <= 128 && a.starts_with("auto-merge-"));
    }

    #[test]
    fn a_tenant_of_its_own_overrides_the_default() {
        let rules = AutoMergeRules {
            default: vec![Rule::Email],
            tenants: BTreeMap::from([("careful".to_string(), vec![])]),
        };
        assert_eq!(rules.for_tenant("acme"), &[Rule::Email]);
        assert!(rules.for_tenant("careful").is_empty());
        assert!(!rules.is_off());
        assert!(AutoMergeRules::default().is_off());
    }
}
