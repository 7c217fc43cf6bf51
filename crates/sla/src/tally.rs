//! Counting clocks the way `SlaReport` counts them, over evaluated [`Clock`]s: what the
//! what-if query reports for a candidate policy file without touching the read models.
//!
//! The SQL report (`crates/store/src/sla_reports.rs`) counts rows of `sla_clocks`; this is
//! its twin over clocks in memory, with the same definitions:
//! - *measured* = met + met late + breached + stopped after the due time;
//! - *compliance* = met ÷ measured, in percent;
//! - time to target: elapsed seconds from start to target of met and met-late clocks, median
//!   and 90th percentile interpolated like PostgreSQL's `percentile_cont`.

use crate::clock::{Clock, ClockState};

/// The clocks of one group and policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub clocks: i64,
    pub met: i64,
    pub met_late: i64,
    pub breached: i64,
    pub stopped: i64,
    pub stopped_breached: i64,
    pub open: i64,
    pub at_risk: i64,
    pub paused: i64,
    /// The policy versions of the clocks counted.
    pub versions: std::collections::BTreeSet<u32>,
    /// Seconds from start to target of met and met-late clocks, in the order added.
    pub to_target: Vec<f64>,
}

impl Tally {
    /// Counts one clock in its state.
    pub fn add(&mut self, c: &Clock) {
        self.clocks += 1;
        self.versions.insert(c.policy_version);
        match &c.state {
            ClockState::Open => self.open += 1,
            ClockState::AtRisk => self.at_risk += 1,
            ClockState::Paused { .. } => self.paused += 1,
            ClockState::Breached { .. } => self.breached += 1,
            ClockState::Met { at } | ClockState::MetLate { at, .. } => {
                if matches!(c.state, ClockState::Met { .. }) {
                    self.met += 1;
                } else {
                    self.met_late += 1;
                }
                let micros = (*at - c.started_at).num_microseconds().unwrap_or(i64::MAX);
                self.to_target.push(micros as f64 / 1e6);
            }
            ClockState::Stopped { breached_at, .. } => {
                self.stopped += 1;
                if breached_at.is_some() {
                    self.stopped_breached += 1;
                }
            }
        }
    }

    /// Adds another tally's counts.
    pub fn merge(&mut self, o: &Tally) {
        self.clocks += o.clocks;
        self.met += o.met;
        self.met_late += o.met_late;
        self.breached += o.breached;
        self.stopped += o.stopped;
        self.stopped_breached += o.stopped_breached;
        self.open += o.open;
        self.at_risk += o.at_risk;
        self.paused += o.paused;
        self.versions.extend(&o.versions);
        self.to_target.extend_from_slice(&o.to_target);
    }

    /// Clocks decided: met + met late + breached + stopped after the due time.
    pub fn measured(&self) -> i64 {
        self.met + self.met_late + self.breached + self.stopped_breached
    }

    /// Clocks that breached: breached, met late, or stopped after the due time.
    pub fn breaches(&self) -> i64 {
        self.met_late + self.breached + self.stopped_breached
    }

    /// 100 × met ÷ measured; `None` when nothing is measured.
    pub fn compliance_pct(&self) -> Option<f64> {
        let m = self.measured();
        (m > 0).then(|| 100.0 * self.met as f64 / m as f64)
    }

    /// The `p` quantile (0..=1) of the times to target, as `percentile_cont`.
    pub fn to_target_quantile(&self, p: f64) -> Option<f64> {
        let mut v = self.to_target.clone();
        v.sort_by(f64::total_cmp);
        percentile_cont(&v, p)
    }
}

/// PostgreSQL's `percentile_cont` over sorted values: linear between the two nearest ranks.
pub fn percentile_cont(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_postgres() {
        assert_eq!(percentile_cont(&[], 0.5), None);
        assert_eq!(percentile_cont(&[4.0], 0.9), Some(4.0));
        assert_eq!(percentile_cont(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        // 0.9 × 3 = 2.7: between 3 and 4.
        assert!((percentile_cont(&[1.0, 2.0, 3.0, 4.0], 0.9).unwrap() - 3.7).abs() < 1e-12);
    }
}
