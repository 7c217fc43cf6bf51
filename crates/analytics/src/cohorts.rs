//! Capture cohorts (docs/ANALYTICS.md, "Cohorts"): the leads captured in one month or ISO
//! week, and for each main-line stage after capture the number that had reached it (or a
//! later main-line stage) within 1, 2, … N weeks of their capture: cumulative curves.
//!
//! Fed one lead at a time like [`crate::velocity`]; what is kept is one counter per cohort,
//! stage and week.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use leadledger_domain::Stage;

use crate::{micros, LeadStays};

/// The stages a curve is drawn for, in order.
pub const STAGES: [Stage; 4] = [Stage::Mql, Stage::Sql, Stage::Poc, Stage::Signed];

/// How captures are bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Calendar month (UTC), named `YYYY-MM`.
    Month,
    /// ISO 8601 week (UTC, Monday to Sunday), named `YYYY-Www`.
    Week,
}

impl Period {
    /// The name of the period holding `t`: `YYYY-MM`, or the ISO week `YYYY-Www` (what the
    /// read models' SQL names with `to_char(…, 'YYYY-MM')` and `'IYYY-"W"IW'`).
    pub fn name(self, t: DateTime<Utc>) -> String {
        match self {
            Period::Month => t.format("%Y-%m").to_string(),
            Period::Week => t.format("%G-W%V").to_string(),
        }
    }

    /// The period holding `t`: its name and its end (exclusive).
    pub fn of(self, t: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let day = t.date_naive();
        let start = match self {
            Period::Month => NaiveDate::from_ymd_opt(day.year(), day.month(), 1),
            Period::Week => {
                Some(day - TimeDelta::days(i64::from(day.weekday().num_days_from_monday())))
            }
        }
        .expect("a valid date");
        let end = match self {
            Period::Month => start.checked_add_months(Months::new(1)),
            Period::Week => start.checked_add_signed(TimeDelta::days(7)),
        };
        let end = end
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(DateTime::<Utc>::MAX_UTC, |d| d.and_utc());
        (self.name(t), end)
    }
}

/// How cohorts are formed and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub period: Period,
    /// Points per curve: within 1, 2, … `weeks` weeks of capture.
    pub weeks: u32,
    /// The instant the data is read at: a point whose week has not passed for every lead of
    /// its cohort is still filling ([`Cohort::complete_weeks`]).
    pub at: DateTime<Utc>,
}

/// One cohort of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cohort {
    pub key: Vec<String>,
    /// The period's name (`YYYY-MM` or `YYYY-Www`).
    pub cohort: String,
    /// Leads captured in the period.
    pub leads: u64,
    /// Points final at `at`: every lead of the cohort was captured at least this many whole
    /// weeks before `at` (at most `weeks`); later points can still grow.
    pub complete_weeks: u32,
    /// Per stage of [`STAGES`], in order: `reached[w]` leads had reached the stage or a
    /// later main-line one within `w + 1` weeks of their capture.
    pub reached: [Vec<u64>; 4],
}

/// A cohort's place: group key, period end (so periods sort by time), period name.
type CohortId = (Vec<String>, DateTime<Utc>, String);

/// A cohort's leads, and per stage of [`STAGES`] how many first reached it in each week
/// after capture (index `weeks`: later than that, never read).
type Counts = (u64, [Vec<u64>; 4]);

/// Cohorts built one lead at a time.
#[derive(Debug)]
pub struct Accumulator {
    params: Params,
    cohorts: BTreeMap<CohortId, Counts>,
}

const WEEK: TimeDelta = TimeDelta::weeks(1);

impl Accumulator {
    pub fn new(params: Params) -> Self {
        Self {
            params,
            cohorts: BTreeMap::new(),
        }
    }

    /// Adds one lead (each lead once); a lead with no capture belongs to no cohort.
    pub fn add(&mut self, lead: &LeadStays) {
        let Some(captured) = lead.captured_at else {
            return;
        };
        let (name, end) = self.params.period.of(captured);
        let weeks = self.params.weeks as usize;
        let entry = self
            .cohorts
            .entry((lead.key.clone(), end, name))
            .or_insert_with(|| (0, std::array::from_fn(|_| vec![0; weeks + 1])));
        entry.0 += 1;
        for (i, stage) in STAGES.iter().enumerate() {
            let Some(reached) = lead.first_reached(*stage) else {
                continue;
            };
            // Reached before its capture arrived (data out of order): within the first week.
            let elapsed = (reached - captured).max(TimeDelta::zero());
            // Within w + 1 weeks: the first w with elapsed <= (w + 1) weeks.
            let w = (micros(elapsed) - 1).max(0) / micros(WEEK);
            entry.1[i][usize::try_from(w).unwrap_or(usize::MAX).min(weeks)] += 1;
        }
    }

    /// The cohorts of every lead added, ordered by key, then period.
    pub fn finish(self) -> Vec<Cohort> {
        let weeks = self.params.weeks as usize;
        self.cohorts
            .into_iter()
            .map(|((key, end, cohort), (leads, counts))| {
                let aged = self.params.at - end;
                let complete_weeks = if aged < TimeDelta::zero() {
                    0
                } else {
                    u32::try_from(aged.num_weeks())
                        .unwrap_or(u32::MAX)
                        .min(self.params.weeks)
                };
                let reached = counts.map(|by_week| {
                    by_week[..weeks]
                        .iter()
                        .scan(0, |sum, n| {
                            *sum += n;
                            Some(*sum)
                        })
                        .collect()
                });
                Cohort {
                    key,
                    cohort,
                    leads,
                    complete_weeks,
                    reached,
                }
            })
            .collect()
    }
}

/// The cohorts of `leads` (each lead once).
pub fn cohorts<'a>(leads: impl IntoIterator<Item = &'a LeadStays>, params: Params) -> Vec<Cohort> {
    let mut acc = Accumulator::new(params);
    for lead in leads {
        acc.add(lead);
    }
    acc.finish()
}

#[cfg(test)]
mod tests;
