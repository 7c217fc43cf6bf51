//! The working segments of each local date, computed once per calendar.
//!
//! Finding a date's UTC segments reads the tz database some forty times (hourly probes over
//! the day and a margin, to find offset changes), and every SLA deadline walks a week or more
//! of dates: measured with `project-instructions` (docs/BENCHMARKS-instructions.md), that was
//! two thirds of the projector's pure work. The leads of a batch share their dates, so the
//! segments are kept per date. A cache, not part of the calendar's value: clones start empty,
//! and equality ignores it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, Utc};

/// A date's working segments in UTC: disjoint, in order.
pub type Segments = Arc<[(DateTime<Utc>, DateTime<Utc>)]>;

/// Dates kept before the memo starts over: about three years of dates, under 100 KB per
/// calendar (one per tenant with its own policy file, one for the defaults). A replay walks
/// the log's dates in roughly ascending order, so starting over costs one recomputation per
/// date it still needs.
const CAPACITY: usize = 1024;

#[derive(Default)]
pub struct DayMemo(RwLock<HashMap<NaiveDate, Segments>>);

impl DayMemo {
    /// The segments of `date`, computed by `compute` the first time.
    pub fn get(
        &self,
        date: NaiveDate,
        compute: impl FnOnce() -> Vec<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Segments {
        // A poisoned lock only means a panic elsewhere while holding it; the map is still a
        // valid cache.
        if let Some(s) = self.0.read().unwrap_or_else(|e| e.into_inner()).get(&date) {
            return Arc::clone(s);
        }
        let segments: Segments = compute().into();
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(date, Arc::clone(&segments));
        segments
    }
}

impl Clone for DayMemo {
    fn clone(&self) -> Self {
        DayMemo::default()
    }
}

impl PartialEq for DayMemo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for DayMemo {}

impl fmt::Debug for DayMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DayMemo")
    }
}
