//! The two measures every phase reports: throughput, and latency percentiles.

use std::time::Duration;

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
