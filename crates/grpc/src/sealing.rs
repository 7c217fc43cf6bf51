//! Sealing captured contacts before they go to the log (docs/PRIVACY.md), with the data keys
//! of many concurrent calls made in one statement.
//!
//! A lead's key must be durable in PostgreSQL before a record sealed with it is in the log
//! (else a crash could leave a contact nobody can open), so making keys costs a commit: a WAL
//! flush. One commit per `Append` limited ingest to what the disk flushes per second (bench,
//! 2026-12-05: at 5 000 events/s in calls of 10, `Append` p50 went from 30 ms to 560 ms). The
//! [`Sealer`] is a group commit: one task takes every request waiting, makes their keys in one
//! statement and answers each, so the flushes per second no longer grow with the calls.

use std::collections::HashMap;

use leadledger_api::pb;
use leadledger_api::sealed::{self, DataKey};
use leadledger_api::ApiError;
use leadledger_domain::privacy::SEALED_CONTACT_VERSION;
use leadledger_store::contact_keys::{self, LeadKey};
use leadledger_store::Store;
use tokio::sync::{mpsc, oneshot};

/// Leads whose keys one statement makes at most.
const MAX_LEADS: usize = 2_000;

type Answer = Result<HashMap<LeadKey, DataKey>, String>;

struct Ask {
    leads: Vec<LeadKey>,
    answer: oneshot::Sender<Answer>,
}

/// Seals contacts with keys made by one background task (see the module docs).
#[derive(Clone)]
pub struct Sealer {
    asks: mpsc::Sender<Ask>,
}

impl Sealer {
    /// A sealer making keys in `store`; its task ends when the last clone is dropped.
    pub fn new(store: Store) -> Self {
        let (asks, rx) = mpsc::channel(1024);
        tokio::spawn(issue_loop(store, rx));
        Self { asks }
    }

    /// Seals the contact of every capture among `events` with its lead's data key (made on
    /// the lead's first capture): the log never holds a clear contact. A sealed capture is
    /// schema version 2.
    pub async fn seal(&self, events: &mut [pb::Event]) -> Result<(), ApiError> {
        let leads: Vec<LeadKey> = events
            .iter()
            .filter(|e| {
                matches!(&e.payload, Some(pb::event::Payload::LeadCaptured(c)) if c.contact.is_some())
            })
            .map(|e| (e.tenant_id.clone(), e.lead_id.clone()))
            .collect();
        if leads.is_empty() {
            return Ok(());
        }
        let (answer, rx) = oneshot::channel();
        let gone = || ApiError::Unavailable("the contact sealer stopped; retry".into());
        self.asks
            .send(Ask { leads, answer })
            .await
            .map_err(|_| gone())?;
        let keys = rx.await.map_err(|_| gone())?.map_err(|e| {
            ApiError::Unavailable(format!(
                "could not make the contacts' data keys ({e}); nothing was appended, retry"
            ))
        })?;
        for e in events.iter_mut() {
            let Some(pb::event::Payload::LeadCaptured(c)) = &mut e.payload else {
                continue;
            };
            let Some(contact) = c.contact.take() else {
                continue;
            };
            let key = keys
                .get(&(e.tenant_id.clone(), e.lead_id.clone()))
                .ok_or_else(|| ApiError::Internal("no data key made for a captured lead".into()))?;
            let sealed = sealed::seal(&contact, key, &e.tenant_id, &e.lead_id)
                .map_err(|err| ApiError::Internal(format!("sealing a contact: {err}")))?;
            c.sealed_contact = Some(sealed);
            e.schema_version = SEALED_CONTACT_VERSION;
        }
        Ok(())
    }
}

/// Takes the asks waiting (up to [`MAX_LEADS`] leads), makes their keys in one statement,
/// answers each with its leads' keys; until every sender is gone.
async fn issue_loop(store: Store, mut rx: mpsc::Receiver<Ask>) {
    while let Some(first) = rx.recv().await {
        let mut asks = vec![first];
        let mut leads: usize = asks[0].leads.len();
        while leads < MAX_LEADS {
            match rx.try_recv() {
                Ok(a) => {
                    leads += a.leads.len();
                    asks.push(a);
                }
                Err(_) => break,
            }
        }
        let all: Vec<(&str, &str)> = asks
            .iter()
            .flat_map(|a| a.leads.iter().map(|(t, l)| (t.as_str(), l.as_str())))
            .collect();
        // A connection the server ended (restart, failover, an administrator) is replaced by
        // the pool: the statement is tried again before any caller is failed.
        let mut made = contact_keys::issue(&store.pool, &all).await;
        for wait_ms in [20, 100, 500] {
            match &made {
                Err(e) if e.is_transient() => {
                    tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
                    made = contact_keys::issue(&store.pool, &all).await;
                }
                _ => break,
            }
        }
        let made = made.map_err(|e| {
            tracing::warn!(error = %e, asks = asks.len(), "making contacts' data keys failed");
            e.to_string()
        });
        for a in asks {
            let answer = match &made {
                Ok(keys) => Ok(a
                    .leads
                    .iter()
                    .filter_map(|k| keys.get(k).map(|d| (k.clone(), d.clone())))
                    .collect()),
                Err(e) => Err(e.clone()),
            };
            // A caller that went away no longer waits for its answer.
            let _ = a.answer.send(answer);
        }
    }
}
