//! Revenue-operations measures as plain functions: the read side's maths, fed with rows the
//! store reads, with no I/O and no clock (an instant is always a parameter). Every measure's
//! definition is in docs/ANALYTICS.md; the code follows it word for word.
//!
//! # Layout
//! - [`accounts`]: the funnel at account level, the contacts standing for each account
//!   chosen by scope (everyone, the buying committee, the primary contact).
//! - [`cohorts`]: capture cohorts and the share of each that reached each stage within
//!   1, 2, … N weeks (cumulative curves).
//! - `lead`: [`LeadStays`], a lead as the measures read it (key, capture, owner, stays).
//! - [`reasons`]: exits counted by reason code, with shares.
//! - [`revenue`]: the revenue equation, its factors as exact fractions whose product is the
//!   collected revenue.
//! - [`roi`]: spend against what it bought and returned (cost per lead … CAC, ROI, ROAS).
//! - [`velocity`]: time in stage (exact nearest-rank percentiles), conversion to a later
//!   main-line stage within a window, and the leads stalled past their group's P90.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod cohorts;
mod lead;
pub mod reasons;
pub mod revenue;
pub mod roi;
pub mod velocity;

pub use lead::{LeadStays, Owner, Stay};

/// A duration in whole microseconds (the database's precision), saturating.
pub(crate) fn micros(d: chrono::TimeDelta) -> i64 {
    d.num_microseconds()
        .unwrap_or(if d < chrono::TimeDelta::zero() {
            i64::MIN
        } else {
            i64::MAX
        })
}
