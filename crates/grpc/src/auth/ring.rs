//! The key ring: every API key and client-certificate binding of the database in memory, so
//! authenticating a call costs a hash (or a certificate parse) and a map lookup, not a query.
//!
//! The ring reloads every `refresh` (default 5 s): a revocation or an expiry set by another
//! process takes effect everywhere within that bound. A key id the ring does not know makes
//! it reload at once (at most once per [`MISS_RELOAD`]), so a key created a moment ago works
//! on its first call. When the database cannot be read the ring keeps the keys it has and
//! says so in the log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use leadledger_api::ApiError;
use leadledger_store::{keys, Store, StoreError};

use super::key;
use super::scope::{Caller, Scope};

/// Least time between two reloads caused by unknown key ids (a flood of made-up keys must
/// not become a flood of queries).
pub const MISS_RELOAD: Duration = Duration::from_secs(1);

/// One key as the ring keeps it.
#[derive(Debug, Clone)]
struct Entry {
    tenant: String,
    scopes: Vec<Scope>,
    secret_sha256: Vec<u8>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    /// A client-certificate binding's identity; empty for a bearer key.
    client_cert: String,
}

/// The keys and certificate bindings as loaded.
#[derive(Default)]
struct Loaded {
    keys: HashMap<String, Entry>,
    /// Certificate identity → the ids of the bindings naming it (live or not).
    certs: HashMap<String, Vec<String>>,
}

struct Inner {
    store: Store,
    keys: RwLock<Loaded>,
    /// One reload at a time: a slow reload that started before a revocation must not
    /// replace the snapshot of a faster one that started after it.
    reloading: tokio::sync::Mutex<()>,
    last_load: Mutex<Instant>,
}

/// The process's API keys, reloaded in the background.
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<Inner>,
}

impl KeyRing {
    /// Loads every key and starts reloading them every `refresh` (inside a tokio runtime);
    /// the reloading stops when the last clone of the ring is dropped.
    pub async fn load(store: Store, refresh: Duration) -> Result<Self, StoreError> {
        let inner = Arc::new(Inner {
            store,
            keys: RwLock::new(Loaded::default()),
            reloading: tokio::sync::Mutex::new(()),
            last_load: Mutex::new(Instant::now()),
        });
        inner.reload().await?;
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(refresh).await;
                let Some(inner) = weak.upgrade() else { return };
                if let Err(e) = inner.reload().await {
                    tracing::warn!(error = %e, "cannot reload API keys; keeping the ones loaded");
                }
            }
        });
        Ok(Self { inner })
    }

    /// The caller a presented key (the bearer token) stands for at `now`.
    pub async fn verify(&self, presented: &str, now: DateTime<Utc>) -> Result<Caller, ApiError> {
        let Some((key_id, secret)) = key::parse(presented) else {
            return Err(ApiError::Unauthenticated(
                "malformed API key: expected `authorization: Bearer llk_<id>_<secret>`".into(),
            ));
        };
        let key_id = key_id.to_ascii_lowercase();
        let mut entry = self.inner.get(&key_id);
        if entry.is_none() && self.inner.claim_miss_reload() {
            if let Err(e) = self.inner.reload().await {
                tracing::warn!(error = %e, "cannot reload API keys for an unknown key id");
            }
            entry = self.inner.get(&key_id);
        }
        let unknown = || ApiError::Unauthenticated(format!("unknown API key llk_{key_id}"));
        let entry = entry.ok_or_else(unknown)?;
        // A certificate binding's secret was never shown; refuse it by kind all the same.
        if !entry.client_cert.is_empty()
            || !key::same_digest(&key::hash(secret), &entry.secret_sha256)
        {
            return Err(unknown());
        }
        entry.caller(key_id, "API key", now)
    }

    /// The caller a verified client certificate with `identities` stands for at `now`:
    /// `None` when no binding names any of them (the call then needs a key). An identity
    /// no binding names makes the ring reload once (at most once per [`MISS_RELOAD`]), so
    /// a binding made a moment ago works at once.
    pub async fn verify_cert(
        &self,
        identities: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<Caller>, ApiError> {
        if self.inner.bindings(identities).is_empty() && self.inner.claim_miss_reload() {
            if let Err(e) = self.inner.reload().await {
                tracing::warn!(error = %e, "cannot reload API keys for an unbound certificate");
            }
        }
        self.bound_cert(identities, now)
    }

    /// [`KeyRing::verify_cert`] over the bindings loaded now, never reloading. A certificate
    /// matched by two live bindings is refused: it would name two tenants.
    pub fn bound_cert(
        &self,
        identities: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<Caller>, ApiError> {
        let bound = self.inner.bindings(identities);
        let live: Vec<&(String, Entry)> = bound
            .iter()
            .filter(|(_, e)| e.revoked_at.is_none())
            .collect();
        match live.as_slice() {
            [] => match bound.into_iter().next() {
                // Only revoked bindings: say so (an unbound certificate is just no credential).
                Some((id, entry)) => entry
                    .caller(id, "client certificate binding", now)
                    .map(Some),
                None => Ok(None),
            },
            [(id, entry)] => entry
                .clone()
                .caller(id.clone(), "client certificate binding", now)
                .map(Some),
            many => Err(ApiError::Unauthenticated(format!(
                "the client certificate matches {} bindings ({}): revoke all but one",
                many.len(),
                many.iter()
                    .map(|(id, e)| format!("llk_{id} {}", e.client_cert))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Reloads now (tests, and `keys` commands run in the same process).
    pub async fn reload(&self) -> Result<(), StoreError> {
        self.inner.reload().await
    }
}

impl Entry {
    /// The caller this credential stands for at `now`, or why it no longer does.
    fn caller(self, key_id: String, what: &str, now: DateTime<Utc>) -> Result<Caller, ApiError> {
        if let Some(at) = self.revoked_at {
            return Err(ApiError::Unauthenticated(format!(
                "{what} llk_{key_id} was revoked at {}",
                at.to_rfc3339()
            )));
        }
        if let Some(at) = self.expires_at.filter(|at| *at <= now) {
            return Err(ApiError::Unauthenticated(format!(
                "{what} llk_{key_id} expired at {}",
                at.to_rfc3339()
            )));
        }
        Ok(Caller {
            tenant: self.tenant,
            scopes: self.scopes,
            key_id,
        })
    }
}

impl Inner {
    fn get(&self, key_id: &str) -> Option<Entry> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys
            .get(key_id)
            .cloned()
    }

    /// The bindings naming any of `identities`, each once.
    fn bindings(&self, identities: &[String]) -> Vec<(String, Entry)> {
        let loaded = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let mut ids: Vec<&String> = identities
            .iter()
            .filter_map(|i| loaded.certs.get(i))
            .flatten()
            .collect();
        ids.sort();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| Some((id.clone(), loaded.keys.get(id)?.clone())))
            .collect()
    }

    /// Whether an unknown key id may reload the keys now; claims the reload (checked and
    /// set under one lock, so calls arriving together make one reload, not one each).
    fn claim_miss_reload(&self) -> bool {
        let mut last = self.last_load.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.elapsed() >= MISS_RELOAD;
        if due {
            *last = Instant::now();
        }
        due
    }

    async fn reload(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.reloading.lock().await;
        *self.last_load.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        let rows = keys::all(&self.store.pool).await?;
        let mut loaded = Loaded::default();
        for r in rows {
            let scopes = r
                .scopes
                .iter()
                .filter_map(|s| {
                    let scope = Scope::parse(s);
                    if scope.is_none() {
                        tracing::warn!(key_id = %r.key_id, scope = %s, "unknown scope ignored");
                    }
                    scope
                })
                .collect();
            if !r.client_cert.is_empty() {
                loaded
                    .certs
                    .entry(r.client_cert.clone())
                    .or_default()
                    .push(r.key_id.clone());
            }
            loaded.keys.insert(
                r.key_id,
                Entry {
                    tenant: r.tenant_id,
                    scopes,
                    secret_sha256: r.secret_sha256,
                    expires_at: r.expires_at,
                    revoked_at: r.revoked_at,
                    client_cert: r.client_cert,
                },
            );
        }
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        Ok(())
    }
}
