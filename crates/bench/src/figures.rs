//! What one run measured, and where: throughput and latency figures, rounds, the targets
//! and the machine description. Formatting lives in [`crate::report`].

use leadledger_workers::projector::Totals;

/// Target: ingest `Append` rate / raw producer rate.
pub const INGEST_TARGET: f64 = 0.70;
/// Target: projector rate / raw consumer rate.
pub const PROJECTOR_TARGET: f64 = 0.50;

pub use crate::machine::Machine;
pub use crate::measure::{Percentiles, Throughput};

/// One round of the throughput phases (1–5), on its own topics and database.
#[derive(Debug, Clone)]
pub struct Round {
    pub produce: Throughput,
    pub ingest: Throughput,
    pub ingest_calls: Percentiles,
    pub consume: Throughput,
    pub projector: Throughput,
    pub projector_totals: Totals,
    pub copy: Throughput,
    /// Phase 2 through the authentication gate (a bearer key on every call).
    pub ingest_gated: Throughput,
    /// Phase 4 as a login role under row-level security.
    pub projector_rls: Throughput,
    /// CPU of the bench process during phase 2 (server and client).
    pub ingest_cpu: Option<std::time::Duration>,
    /// CPU of phase 4.
    pub projector_cpu: Cpu,
    /// CPU of phase 4r.
    pub projector_rls_cpu: Cpu,
}

/// CPU time a phase cost ([`crate::cpu`]; `None` where /proc could not tell).
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    /// The bench process (the projector and the phase's checkpoint poll).
    pub process: Option<std::time::Duration>,
    /// The PostgreSQL backends of the phase's database.
    pub postgres: Option<std::time::Duration>,
}

impl Round {
    /// Ingest rate / raw producer rate.
    pub fn ingest_ratio(&self) -> f64 {
        self.ingest.rate() / self.produce.rate()
    }
    /// Ingest through the gate / open ingest.
    pub fn gate_ratio(&self) -> f64 {
        self.ingest_gated.rate() / self.ingest.rate()
    }
    /// Projector under row-level security / as a superuser.
    pub fn rls_ratio(&self) -> f64 {
        self.projector_rls.rate() / self.projector.rate()
    }
    /// Projector rate / raw consumer rate.
    pub fn projector_ratio(&self) -> f64 {
        self.projector.rate() / self.consume.rate()
    }
    /// Projector rate / raw COPY rate.
    pub fn copy_ratio(&self) -> f64 {
        self.projector.rate() / self.copy.rate()
    }
}

/// Everything one run measured.
pub struct Figures {
    pub events: usize,
    pub distinct: usize,
    pub leads: usize,
    pub value_bytes: usize,
    pub partitions: i32,
    pub batch: usize,
    pub concurrency: usize,
    pub rounds: Vec<Round>,
    /// Phase 6, one per `--fresh-rates` rate.
    pub freshness: Vec<Fresh>,
}

/// Freshness at one rate, and the raw log's latency at the same rate in the same run.
pub struct Fresh {
    pub run: crate::freshness::FreshnessRun,
    pub log: crate::baseline::LogLatency,
}

/// Issue 20's freshness target: p50 and p99 each at most this many times the raw log's.
pub const FRESH_TARGET: f64 = 2.0;

impl Fresh {
    /// Freshness p50 / the raw log's p50 (ack → receipt).
    pub fn p50_ratio(&self) -> f64 {
        self.run.fresh.p50.as_secs_f64() / self.log.receipt.p50.as_secs_f64().max(1e-9)
    }
    /// Freshness p99 / the raw log's p99.
    pub fn p99_ratio(&self) -> f64 {
        self.run.fresh.p99.as_secs_f64() / self.log.receipt.p99.as_secs_f64().max(1e-9)
    }
}

impl Figures {
    /// The round whose `measure` rate is the median (the lower one of an even count).
    pub fn median_round(&self, measure: impl Fn(&Round) -> Throughput) -> &Round {
        let mut order: Vec<&Round> = self.rounds.iter().collect();
        order.sort_by(|a, b| measure(a).rate().total_cmp(&measure(b).rate()));
        order[(order.len() - 1) / 2]
    }

    /// The median `measure` throughput.
    pub fn median(&self, measure: impl Fn(&Round) -> Throughput + Copy) -> Throughput {
        measure(self.median_round(measure))
    }

    /// Median over the rounds of a per-round ratio, and every round's value in run order.
    pub fn ratio(&self, ratio: impl Fn(&Round) -> f64) -> (f64, Vec<f64>) {
        let each: Vec<f64> = self.rounds.iter().map(ratio).collect();
        let mut sorted = each.clone();
        sorted.sort_by(f64::total_cmp);
        (sorted[(sorted.len() - 1) / 2], each)
    }
}
