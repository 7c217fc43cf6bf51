//! The rules a soak is judged by, and what they found.
//!
//! 1. Memory ceiling: every role's VmHWM (peak resident set over its whole life, start-up
//!    included) ≤ `--rss-target-mb`.
//! 2. Bounded memory: for every role, the mean VmRSS over the samples of the last third of
//!    the load exceeds the mean over the middle third by at most
//!    max(`--growth-tolerance` × the middle mean, `--growth-floor-mb`). The first third is
//!    left out: caches, pools and allocator arenas fill up there.
//! 3. Lag returns to zero: after the load stops, the core projection's checkpoints reach
//!    the topic's end offsets within `--drain-secs`.
//! 4. Rate sustained: events acked during the load ≥ `--rate-floor` × rate × duration.
//! 5. No write lost: every event sent was acked, no `Append`/`StreamEvents` failure.

use std::time::Duration;

use crate::load::{lock, Counters, Snapshot};
use crate::sample::{Phase, Sample};
use crate::{Args, ROLES};

/// Everything a run measured.
pub struct Run<'a> {
    pub args: &'a Args,
    pub warm_up: Duration,
    /// Seconds the load ran.
    pub load_secs: f64,
    /// Counters when the load stopped.
    pub at_stop: Snapshot,
    /// Counters once every call in flight had returned.
    pub drained: Snapshot,
    pub counters: &'a Counters,
    pub samples: &'a [Sample],
    /// Seconds since the load started when the lag was first seen at zero after it stopped.
    pub back_to_zero: Option<f64>,
}

/// kB of /proc (KiB) → MB (10^6 bytes).
pub fn mb(kb: f64) -> f64 {
    kb * 1024.0 / 1e6
}

/// One role's memory over the run.
pub struct RoleMemory {
    pub role: &'static str,
    /// VmRSS at the first sample (the load just started).
    pub start_kb: u64,
    /// Mean VmRSS over the middle and the last third of the load.
    pub middle_kb: Option<f64>,
    pub last_kb: Option<f64>,
    /// Largest growth allowed from the middle to the last third.
    pub allowed_kb: Option<f64>,
    pub max_rss_kb: u64,
    /// VmHWM at the last sample: the peak over the process's life.
    pub peak_kb: u64,
    /// VmRSS at the last sample (after the drain).
    pub final_kb: u64,
    pub under_ceiling: bool,
    /// None: too few samples to judge.
    pub bounded: Option<bool>,
}

impl RoleMemory {
    pub fn growth_kb(&self) -> Option<f64> {
        Some(self.last_kb? - self.middle_kb?)
    }
}

/// One check.
pub struct Check {
    pub name: &'static str,
    pub rule: String,
    pub measured: String,
    pub ok: bool,
}

/// The judgement of a run.
pub struct Verdict {
    pub roles: Vec<RoleMemory>,
    pub lag_max: i64,
    pub lag_max_at: f64,
    pub lag_at_stop: i64,
    /// Highest lag sampled in the last third of the load.
    pub lag_last_third: i64,
    /// Seconds from the end of the load to lag zero.
    pub to_zero: Option<f64>,
    /// Acked events per second over the load.
    pub achieved: f64,
    /// Lowest and highest acked rate between two consecutive load samples.
    pub interval_rates: Option<(f64, f64)>,
    pub records: i64,
    /// Mean CPU use of each role over the load (1.0 = one core).
    pub cpu: Vec<f64>,
    /// Mean 1-minute load average over the load's samples.
    pub loadavg: f64,
    pub checks: Vec<Check>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

pub fn judge(run: &Run) -> Verdict {
    let a = run.args;
    let load: Vec<&Sample> = run
        .samples
        .iter()
        .filter(|s| s.phase == Phase::Load)
        .collect();
    let secs = run.load_secs;
    let middle: Vec<&Sample> = load
        .iter()
        .copied()
        .filter(|s| s.t >= secs / 3.0 && s.t < secs * 2.0 / 3.0)
        .collect();
    let last_third: Vec<&Sample> = load
        .iter()
        .copied()
        .filter(|s| s.t >= secs * 2.0 / 3.0)
        .collect();
    let target_kb = a.rss_target_mb * 1e6 / 1024.0;
    let floor_kb = a.growth_floor_mb * 1e6 / 1024.0;

    let first = run.samples.first();
    let final_s = run.samples.last();
    let roles: Vec<RoleMemory> = ROLES
        .iter()
        .enumerate()
        .map(|(i, role)| {
            let of =
                |v: &[&Sample]| mean(&v.iter().map(|s| s.rss_kb[i] as f64).collect::<Vec<_>>());
            let (middle_kb, last_kb) = (of(&middle), of(&last_third));
            let allowed_kb = middle_kb.map(|m| (m * a.growth_tolerance).max(floor_kb));
            let peak_kb = run.samples.iter().map(|s| s.hwm_kb[i]).max().unwrap_or(0);
            let bounded = match (middle_kb, last_kb, allowed_kb) {
                (Some(m), Some(l), Some(al)) => Some(l - m <= al),
                _ => None,
            };
            RoleMemory {
                role,
                start_kb: first.map_or(0, |s| s.rss_kb[i]),
                middle_kb,
                last_kb,
                allowed_kb,
                max_rss_kb: run.samples.iter().map(|s| s.rss_kb[i]).max().unwrap_or(0),
                peak_kb,
                final_kb: final_s.map_or(0, |s| s.rss_kb[i]),
                under_ceiling: (peak_kb as f64) <= target_kb,
                bounded,
            }
        })
        .collect();

    let (lag_max, lag_max_at) = run
        .samples
        .iter()
        .map(|s| (s.lag, s.t))
        .fold((0, 0.0), |m, x| if x.0 > m.0 { x } else { m });
    let lag_at_stop = load.last().map_or(0, |s| s.lag);
    let lag_last_third = last_third.iter().map(|s| s.lag).max().unwrap_or(0);
    let to_zero = run.back_to_zero.map(|t| (t - secs).max(0.0));
    let achieved = run.at_stop.acked as f64 / secs.max(1e-9);
    let rates: Vec<f64> = load
        .windows(2)
        .filter(|w| w[1].t > w[0].t + 0.5)
        .map(|w| (w[1].counts.acked - w[0].counts.acked) as f64 / (w[1].t - w[0].t))
        .collect();
    let interval_rates = rates
        .iter()
        .copied()
        .fold(None, |m: Option<(f64, f64)>, r| {
            Some(m.map_or((r, r), |(lo, hi)| (lo.min(r), hi.max(r))))
        });

    let mut checks = Vec::new();
    let worst = roles.iter().max_by_key(|r| r.peak_kb);
    checks.push(Check {
        name: "Memory ceiling",
        rule: format!("VmHWM ≤ {:.0} MB for every role", a.rss_target_mb),
        measured: worst.map_or("–".into(), |r| {
            format!("highest: {} {:.0} MB", r.role, mb(r.peak_kb as f64))
        }),
        ok: roles.iter().all(|r| r.under_ceiling),
    });
    let growths: Vec<String> = roles
        .iter()
        .map(|r| match r.growth_kb() {
            Some(g) => format!("{} {:+.1} MB", r.role, mb(g)),
            None => format!("{} –", r.role),
        })
        .collect();
    checks.push(Check {
        name: "Bounded memory",
        rule: format!(
            "mean VmRSS, last third − middle third of the load ≤ max({:.0} % of the middle third, {:.0} MB), every role",
            a.growth_tolerance * 100.0,
            a.growth_floor_mb
        ),
        measured: growths.join(", "),
        ok: roles.iter().all(|r| r.bounded == Some(true)),
    });
    checks.push(Check {
        name: "Lag returns to zero",
        rule: format!("within {:.0} s of the load stopping", a.drain_secs),
        measured: match to_zero {
            Some(t) => format!("{t:.1} s (lag {lag_at_stop} when the load stopped)"),
            None => format!(
                "not within {:.0} s (lag {} at the end)",
                a.drain_secs,
                final_s.map_or(0, |s| s.lag)
            ),
        },
        ok: to_zero.is_some(),
    });
    checks.push(Check {
        name: "Rate sustained",
        rule: format!(
            "events acked during the load ≥ {:.0} % of {:.0}/s",
            a.rate_floor * 100.0,
            a.rate
        ),
        measured: format!("{achieved:.0}/s"),
        ok: achieved >= a.rate_floor * a.rate,
    });
    let write_errors = run.counters.write_errors();
    let retried: u64 = lock(&run.counters.errors)
        .iter()
        .filter(|(k, _)| k.contains("retried"))
        .map(|(_, n)| n)
        .sum();
    let lost = write_errors - retried;
    checks.push(Check {
        name: "No write lost",
        rule: "every event sent is acked; no failed Append or stream event".into(),
        measured: format!(
            "{} sent, {} acked, {lost} failed, {retried} retried",
            run.drained.sent, run.drained.acked
        ),
        ok: lost == 0 && run.drained.sent == run.drained.acked,
    });
    let cpu = (0..ROLES.len())
        .map(|i| match (load.first(), load.last()) {
            (Some(f), Some(l)) if l.t > f.t => (l.cpu_secs[i] - f.cpu_secs[i]) / (l.t - f.t),
            _ => 0.0,
        })
        .collect();
    let loadavg = mean(&load.iter().map(|s| s.loadavg).collect::<Vec<_>>()).unwrap_or(0.0);
    Verdict {
        cpu,
        loadavg,
        roles,
        lag_max,
        lag_max_at,
        lag_at_stop,
        lag_last_third,
        to_zero,
        achieved,
        interval_rates,
        records: final_s.map_or(0, |s| s.end),
        checks,
    }
}
