//! What one run measured, and where: throughput and latency figures, rounds, the targets
//! and the machine description. Formatting lives in [`crate::report`].

use std::time::Duration;

use leadledger_services::projector::Totals;

/// Target: ingest `Append` rate / raw producer rate.
pub const INGEST_TARGET: f64 = 0.70;
/// Target: projector rate / raw consumer rate.
pub const PROJECTOR_TARGET: f64 = 0.50;

/// Events moved in a measured time.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub events: usize,
    pub elapsed: Duration,
    /// Time to the first result inside `elapsed` (ack, response, record or checkpoint).
    pub startup: Option<Duration>,
    /// Untimed warm-up before the clock started (producers only).
    pub warmup: Option<Duration>,
}

impl Throughput {
    /// Events per second.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Latency percentiles (nearest rank).
#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Percentiles {
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let rank = |q: f64| -> Duration {
            if samples.is_empty() {
                return Duration::ZERO;
            }
            let i = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[i - 1]
        };
        Self {
            count: samples.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

pub use crate::machine::Machine;

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
}

impl Round {
    /// Ingest rate / raw producer rate.
    pub fn ingest_ratio(&self) -> f64 {
        self.ingest.rate() / self.produce.rate()
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
    pub freshness: crate::freshness::FreshnessRun,
    pub log_latency: crate::baseline::LogLatency,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let p = Percentiles::of((1..=100).map(Duration::from_millis).rev().collect());
        assert_eq!(p.p50, Duration::from_millis(50));
        assert_eq!(p.p99, Duration::from_millis(99));
        assert_eq!(p.max, Duration::from_millis(100));
        assert_eq!(Percentiles::of(Vec::new()).max, Duration::ZERO);
    }
}
