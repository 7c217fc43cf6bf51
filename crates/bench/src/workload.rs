//! The events every phase sends: the first N deliveries of a seeded simulated quarter
//! (`leadledger_sim::generate`), duplicates and late facts included, in delivery order.
//!
//! Two forms are kept: the wire form a client sends to `Append`, and the form ingest writes
//! to the log (ids, `recorded_at`, event type and trace context filled by the very function
//! ingest uses, [`leadledger_grpc::ingest::prepare`]), already encoded with prost for the
//! raw baselines.

use std::collections::HashSet;

use anyhow::anyhow;
use chrono::Utc;
use leadledger_api::pb;
use leadledger_domain::{validate::MAX_BATCH, Violations};
use leadledger_grpc::ingest::prepare;
use leadledger_sim::{generate, SimConfig};
use prost::Message as _;

/// The events of one bench run.
pub struct Workload {
    /// Tenant of every event.
    pub tenant: String,
    /// As a client sends them to `Append` (no event id, no `recorded_at`).
    pub wire: Vec<pb::Event>,
    /// As ingest writes them to the log.
    pub prepared: Vec<pb::Event>,
    /// `prepared` encoded: the record values.
    pub values: Vec<Vec<u8>>,
    /// Distinct event ids (deliveries minus retried duplicates).
    pub distinct: usize,
    /// Leads simulated to get at least N deliveries.
    pub leads: usize,
}

impl Workload {
    /// The first `n` deliveries of the quarter seeded with `seed`.
    pub fn build(seed: u64, n: usize) -> anyhow::Result<Self> {
        anyhow::ensure!(n > 0, "--events must be at least 1");
        let mut leads = (n / 4).max(10);
        // Lead facts only (the spend statements are no lead's; the freshness probe follows
        // the last event's lead), as every figure before spend existed was measured.
        let deliveries = loop {
            let deliveries = generate(&SimConfig {
                seed,
                leads,
                ..SimConfig::default()
            })
            .lead_deliveries();
            if deliveries.len() >= n {
                break deliveries;
            }
            let have = deliveries.len().max(1);
            leads = leads * n / have + leads / 10 + 1;
        };
        let tenant = SimConfig::default().tenant;
        let wire: Vec<pb::Event> = deliveries.into_iter().take(n).collect();
        let now = Utc::now();
        let mut prepared = Vec::with_capacity(n);
        for (c, chunk) in wire.chunks(MAX_BATCH).enumerate() {
            for (i, e) in chunk.iter().enumerate() {
                let mut v = Violations::default();
                let p = prepare(e.clone(), &tenant, now, None, "", &mut v).ok_or_else(|| {
                    anyhow!(
                        "simulated event {} is refused by ingest: {v:?}",
                        c * MAX_BATCH + i
                    )
                })?;
                prepared.push(p);
            }
        }
        let values: Vec<Vec<u8>> = prepared.iter().map(|e| e.encode_to_vec()).collect();
        let distinct = prepared
            .iter()
            .map(|e| e.event_id.as_str())
            .collect::<HashSet<_>>()
            .len();
        Ok(Self {
            tenant,
            wire,
            prepared,
            values,
            distinct,
            leads,
        })
    }

    /// Number of events.
    pub fn count(&self) -> usize {
        self.wire.len()
    }

    /// Total bytes of the record values.
    pub fn value_bytes(&self) -> usize {
        self.values.iter().map(Vec::len).sum()
    }
}
