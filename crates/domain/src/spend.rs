//! Marketing spend: what a channel (or one of its campaigns) cost over a period of whole UTC
//! days (docs/ANALYTICS.md, "ROI"). Not a fact about a lead: it is filed under a key of its
//! own ([`key`]) so that every statement of one channel and campaign shares a partition, and
//! a statement of the same period replaces the earlier one (the one recorded last wins).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The prefix of spend keys; no lead id may start with `~`.
pub const KEY_PREFIX: &str = "~spend/";

/// Longest period one statement may cover, in days.
pub const MAX_PERIOD_DAYS: i64 = 367;

/// One statement of spend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    pub channel: String,
    /// Empty: the channel as a whole.
    pub campaign: String,
    /// First day, included.
    pub period_start: NaiveDate,
    /// Last day, included.
    pub period_end: NaiveDate,
    pub amount_minor: i64,
    pub currency: String,
}

/// The log key (and `lead_id`) of the spend statements of `channel` and `campaign`.
pub fn key(channel: &str, campaign: &str) -> String {
    format!("{KEY_PREFIX}{channel}/{campaign}")
}

impl Spend {
    /// Days of the period.
    pub fn days(&self) -> i64 {
        (self.period_end - self.period_start).num_days() + 1
    }

    /// The part of the amount that falls in the days `[from, to)`: the amount times the days
    /// of the period inside, over the period's days, rounded down (0 for no overlap).
    pub fn prorated(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let start = self.period_start.max(from);
        let end = (self.period_end + chrono::Days::new(1)).min(to);
        let inside = (end - start).num_days();
        let days = self.days();
        if inside <= 0 || days <= 0 {
            return 0;
        }
        let part = i128::from(self.amount_minor) * i128::from(inside) / i128::from(days);
        i64::try_from(part).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn april(amount: i64) -> Spend {
        Spend {
            channel: "sem".into(),
            campaign: String::new(),
            period_start: d(4, 1),
            period_end: d(4, 30),
            amount_minor: amount,
            currency: "CNY".into(),
        }
    }

    #[test]
    fn a_period_counts_by_its_days_inside() {
        let s = april(30_000);
        assert_eq!(s.days(), 30);
        assert_eq!(s.prorated(d(4, 1), d(5, 1)), 30_000);
        assert_eq!(s.prorated(d(1, 1), d(12, 31)), 30_000);
        assert_eq!(s.prorated(d(4, 16), d(5, 1)), 15_000);
        assert_eq!(s.prorated(d(4, 30), d(5, 2)), 1_000);
        assert_eq!(s.prorated(d(5, 1), d(6, 1)), 0);
        assert_eq!(s.prorated(d(3, 1), d(4, 1)), 0);
        // Rounded down.
        assert_eq!(april(100).prorated(d(4, 1), d(4, 2)), 3);
        assert_eq!(key("sem", ""), "~spend/sem/");
    }
}
