//! What to simulate: the knobs of a run and their defaults.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

/// The knobs of one simulation run. Every output is a pure function of this value.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Seed of every random draw; also part of each `source.event_id`, so runs with different
    /// seeds never share an idempotency key.
    pub seed: u64,
    /// Number of leads captured in the window (default 5000).
    pub leads: usize,
    /// Tenant of every event (default `"demo"`).
    pub tenant: String,
    /// Start of the capture window (default 2026-04-01T00:00:00Z, the start of Q2 2026).
    pub start: DateTime<Utc>,
    /// Length of the capture window in days (default 91, one quarter). Captures are spread
    /// over `[start, start + capture_days)`, weekdays much more than weekends.
    pub capture_days: u32,
    /// The simulated "now" (default 2026-10-31T00:00:00Z): nothing after it is generated, so
    /// late-captured leads are still open, as in a real pipeline read mid-flight.
    pub as_of: DateTime<Utc>,
    /// Share of events delivered a second time (same source id, same content), as a retrying
    /// CRM adapter does (default 0.03).
    pub duplicate_rate: f64,
    /// Share of events delivered late: moved 1..500 positions later in delivery order, a few
    /// to the very end (default 0.05).
    pub late_rate: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            leads: 5000,
            tenant: "demo".to_string(),
            start: utc(2026, 4, 1),
            capture_days: 91,
            as_of: utc(2026, 10, 31),
            duplicate_rate: 0.03,
            late_rate: 0.05,
        }
    }
}

impl SimConfig {
    /// The campaign-name prefix of the capture quarter, e.g. `"2026q2"`.
    pub fn quarter_tag(&self) -> String {
        format!("{}q{}", self.start.year(), self.start.month0() / 3 + 1)
    }

    /// End of the capture window (exclusive).
    pub fn capture_end(&self) -> DateTime<Utc> {
        self.start + Duration::days(i64::from(self.capture_days.max(1)))
    }
}

fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .expect("a valid calendar date")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_q2_2026() {
        let c = SimConfig::default();
        assert_eq!(c.quarter_tag(), "2026q2");
        assert_eq!(c.capture_end(), utc(2026, 7, 1));
        assert!(c.as_of > c.capture_end());
    }
}
