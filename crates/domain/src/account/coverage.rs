//! Target accounts after the list: who covers each in which role, and a customer's renewal
//! dates with their warning clock (docs/IDENTITY.md, "Target accounts, coverage and
//! renewals"). Both are account facts, filed under the account's key like its listing
//! (`crate::account::ownership::log_key`) and applied in that key's log order.
//!
//! A renewal's clock is read like an SLA clock: the stored row says when the contract
//! renews, and its state at an instant — `upcoming`, `warning` from `warn_days` before the
//! date (early, so someone acts before it is late), `due` from the date on — is computed
//! when read ([`renewal_state`]), never stored, so no projection reads the clock.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A role covering an account on the sales side (proto `CoverageRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CoverageRole {
    AccountExecutive,
    ChannelPartner,
    ProductSpecialist,
    Service,
    Presales,
}

impl CoverageRole {
    pub const ALL: [CoverageRole; 5] = [
        CoverageRole::AccountExecutive,
        CoverageRole::ChannelPartner,
        CoverageRole::ProductSpecialist,
        CoverageRole::Service,
        CoverageRole::Presales,
    ];

    /// The proto number.
    pub fn number(self) -> i32 {
        match self {
            CoverageRole::AccountExecutive => 1,
            CoverageRole::ChannelPartner => 2,
            CoverageRole::ProductSpecialist => 3,
            CoverageRole::Service => 4,
            CoverageRole::Presales => 5,
        }
    }

    pub fn from_number(n: i32) -> Option<CoverageRole> {
        Self::ALL.into_iter().find(|r| r.number() == n)
    }

    /// Its storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            CoverageRole::AccountExecutive => "account_executive",
            CoverageRole::ChannelPartner => "channel_partner",
            CoverageRole::ProductSpecialist => "product_specialist",
            CoverageRole::Service => "service",
            CoverageRole::Presales => "presales",
        }
    }

    pub fn parse(s: &str) -> Option<CoverageRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// `AccountCoverageAssigned`: `rep_id` covers (or, `removed`, no longer covers) the
/// account in `role` (a proto `CoverageRole` number, checked at ingest).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageAssigned {
    pub account: String,
    pub role: i32,
    pub rep_id: String,
    #[serde(default)]
    pub removed: bool,
}

/// `RenewalScheduled`: contract `contract_id` of the account renews on `renews_on`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalScheduled {
    pub account: String,
    pub contract_id: String,
    pub renews_on: NaiveDate,
    #[serde(default)]
    pub amount_minor: i64,
    #[serde(default)]
    pub currency: String,
}

/// Where a renewal stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RenewalState {
    /// Before its warning.
    Upcoming,
    /// Within `warn_days` of the date: someone should be talking to the customer.
    Warning,
    /// The date has come (and no later renewal date was scheduled).
    Due,
}

impl RenewalState {
    pub fn as_str(self) -> &'static str {
        match self {
            RenewalState::Upcoming => "upcoming",
            RenewalState::Warning => "warning",
            RenewalState::Due => "due",
        }
    }
}

/// When the warning of a renewal on `renews_on` starts: `warn_days` before it, at 00:00 UTC.
pub fn warn_from(renews_on: NaiveDate, warn_days: u32) -> DateTime<Utc> {
    renews_on
        .checked_sub_days(Days::new(u64::from(warn_days)))
        .unwrap_or(NaiveDate::MIN)
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
}

/// The state at `at` of a renewal on `renews_on` warned `warn_days` before.
pub fn renewal_state(renews_on: NaiveDate, warn_days: u32, at: DateTime<Utc>) -> RenewalState {
    let due = renews_on.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    if at >= due {
        RenewalState::Due
    } else if at >= warn_from(renews_on, warn_days) {
        RenewalState::Warning
    } else {
        RenewalState::Upcoming
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_renewal_warns_early_then_falls_due_on_its_date() {
        let on = NaiveDate::from_ymd_opt(2027, 3, 31).unwrap();
        let at = |m, d, h| Utc.with_ymd_and_hms(2027, m, d, h, 0, 0).unwrap();
        assert_eq!(warn_from(on, 30), at(3, 1, 0));
        assert_eq!(renewal_state(on, 30, at(2, 28, 23)), RenewalState::Upcoming);
        assert_eq!(renewal_state(on, 30, at(3, 1, 0)), RenewalState::Warning);
        assert_eq!(renewal_state(on, 30, at(3, 30, 23)), RenewalState::Warning);
        assert_eq!(renewal_state(on, 30, at(3, 31, 0)), RenewalState::Due);
        assert_eq!(renewal_state(on, 0, at(3, 30, 23)), RenewalState::Upcoming);
    }

    #[test]
    fn roles_are_named_and_numbered_both_ways() {
        for r in CoverageRole::ALL {
            assert_eq!(CoverageRole::from_number(r.number()), Some(r));
            assert_eq!(CoverageRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(CoverageRole::from_number(0), None);
        assert_eq!(CoverageRole::from_number(6), None);
    }
}
