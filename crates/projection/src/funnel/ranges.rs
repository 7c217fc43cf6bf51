//! Which cells a funnel over a range of capture days reads.
//!
//! A funnel over whole days reads the whole months of its range from the month cells, and
//! each partial month at its edges by its cheaper side ([`CellRanges::split`]): its whole
//! blocks inside the range from the block cells plus the leftover days from the day cells,
//! or its month cell minus the blocks and days outside the range. A partial block is itself
//! read by its cheaper side (its days inside, or its block cell minus its days outside). So
//! no range reads more than three days of day cells per bound (with days and months only, a
//! partial month cost up to half a month of day cells, ~2 000 cells a day at 1M leads: the
//! mid-month range 04-15..06-10 read 23 days; it now reads 2 days and 4 block cells besides
//! May's month cells).

use std::collections::BTreeSet;

use chrono::{Datelike, Days, Months, NaiveDate};

use super::cells::{block, month, NOT_CAPTURED};

/// A half-open range of dates, `None` meaning unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl DateRange {
    /// Every date.
    pub const ALL: DateRange = DateRange {
        from: None,
        to: None,
    };
    /// No date.
    pub const EMPTY: DateRange = DateRange {
        from: Some(NOT_CAPTURED),
        to: Some(NOT_CAPTURED),
    };

    fn new(from: Option<NaiveDate>, to: Option<NaiveDate>) -> DateRange {
        match (from, to) {
            (Some(a), Some(b)) if a >= b => DateRange::EMPTY,
            _ => DateRange { from, to },
        }
    }
}

/// The cells below the month cells that a part of a range reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `funnel_block_cells`, over `capture_block` (first days of blocks).
    Block,
    /// `funnel_cells`, over `capture_day`.
    Day,
}

/// Block or day cells read with a sign: `+1` adds the blocks or days of the range (a partial
/// month or block read piece by piece), `-1` takes back out the blocks or days that a month
/// or block cell read whole holds beyond the range. Every part lies within one edge month; a
/// day part within one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub level: Level,
    /// Over the level's date column; bounded except above at the last representable day.
    pub range: DateRange,
    pub sign: i64,
}

/// Which cells the funnel over captures in `[from, to)` (whole UTC days) reads: the month
/// cells of `months`, plus or minus the block and day cells of `parts` (each within one
/// partial month at an edge of the range), and the not-captured cell only when `not_captured`
/// (no bound given). Summed with their signs they count every day of `[from, to)` once and
/// no other day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellRanges {
    /// Over `funnel_month_cells.capture_month` (first days of months): the whole months of
    /// the range and the edge months read as month cell minus what lies outside the range.
    pub months: DateRange,
    /// At most two per bound (a run of blocks and a run of days), in the order of the edges.
    pub parts: Vec<Part>,
    pub not_captured: bool,
}

/// The first day of the month after `m`'s; `None` past the last representable month (read:
/// unbounded above).
fn next_month(m: NaiveDate) -> Option<NaiveDate> {
    m.checked_add_months(Months::new(1))
}

/// The first day after the block starting `b` (a week on, or the next month's 1st, whichever
/// comes first; February's block of the 29th is empty in a common year); `None` past the
/// last representable day.
fn next_block(b: NaiveDate) -> Option<NaiveDate> {
    earlier(b.checked_add_days(Days::new(7)), next_month(month(b)))
}

/// The earlier of two ends, `None` being the end of time.
fn earlier(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Option<NaiveDate> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Days in `[a, b)`, `b` `None` meaning the end of time (the day after `NaiveDate::MAX`).
fn days_between(a: NaiveDate, b: Option<NaiveDate>) -> i64 {
    b.map_or((NaiveDate::MAX - a).num_days() + 1, |b| (b - a).num_days())
}

/// `a < b` with `None` as the end of time.
fn before(a: NaiveDate, b: Option<NaiveDate>) -> bool {
    b.is_none_or(|b| a < b)
}

/// What reading some cells costs, compared as a tuple: the cells read in units of about one
/// day's day cells (a day, a block or a month cell count one each: at 1M leads a day holds
/// ~2 000 day cells, and a block or a month not many more cells, as the same dimension
/// values recur day after day), then the days of day cells among them (of two readings of
/// equal units, the one with fewer days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
struct Cost {
    units: i64,
    days: i64,
}

impl Cost {
    /// One block or month cell read whole.
    const CELL: Cost = Cost { units: 1, days: 0 };

    fn of(parts: &[Part]) -> Cost {
        let mut c = Cost::default();
        for p in parts {
            let Some(from) = p.range.from else {
                unreachable!("parts are bounded below: {p:?}")
            };
            match p.level {
                Level::Day => {
                    let n = days_between(from, p.range.to);
                    c.units += n;
                    c.days += n;
                }
                Level::Block => {
                    let mut b = Some(from);
                    while let Some(x) = b.filter(|x| before(*x, p.range.to)) {
                        c.units += 1;
                        b = next_block(x);
                    }
                }
            }
        }
        c
    }
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            units: self.units + o.units,
            days: self.days + o.days,
        }
    }
}

/// `parts` with `range` read at `level` with `sign` appended, unless it is empty.
fn push(parts: &mut Vec<Part>, level: Level, from: NaiveDate, to: Option<NaiveDate>, sign: i64) {
    if before(from, to) {
        parts.push(Part {
            level,
            range: DateRange::new(Some(from), to),
            sign,
        });
    }
}

/// How to read the days `[lo, hi)` of one month with `sign`: its whole blocks from the block
/// cells, and a partial block at either end (the block of a bound that does not start one)
/// by its cheaper side, its days inside from the day cells, or its block cell and, with the
/// opposite sign, its days outside. At most one block range and two day ranges; one day
/// range unless `[lo, hi)` lies inside one block. `whole_only`: never read a partial block
/// by its block cell (the not-captured month).
fn month_days(lo: NaiveDate, hi: Option<NaiveDate>, sign: i64, whole_only: bool) -> Vec<Part> {
    let mut days = Vec::new();
    // The block cells read: the first and the end of a run of consecutive blocks (partial
    // blocks read whole are at the ends of the range, next to its whole blocks).
    let mut blocks: Option<(NaiveDate, Option<NaiveDate>)> = None;
    let mut b = Some(block(lo));
    while let Some(start) = b.filter(|x| before(*x, hi)) {
        let end = next_block(start);
        let (x, y) = (lo.max(start), earlier(hi, end));
        let mut outside = Vec::new();
        push(&mut outside, Level::Day, start, Some(x), -sign);
        if let Some(y) = y {
            push(&mut outside, Level::Day, y, end, -sign);
        }
        let mut inside = Vec::new();
        push(&mut inside, Level::Day, x, y, sign);
        // Whole (nothing outside), or cheaper read whole minus its days outside.
        let whole = outside.is_empty()
            || (!whole_only && Cost::CELL + Cost::of(&outside) < Cost::of(&inside));
        if whole {
            days.extend(outside);
            blocks = Some((blocks.map_or(start, |(first, _)| first), end));
        } else {
            days.extend(inside);
        }
        b = end;
    }
    let mut parts = Vec::with_capacity(3);
    if let Some((first, end)) = blocks {
        push(&mut parts, Level::Block, first, end, sign);
    }
    parts.extend(days);
    parts
}

/// How to read the days `[lo, hi)` of month `m`, a partial month at an edge of a range:
/// `(true, parts)` for its month cell plus `parts` (which take out what lies outside the
/// range), `(false, parts)` for `parts` alone, whichever costs less (the latter on a tie).
/// The not-captured month (1970-01, only ever holding its first day) is always read piece by
/// piece: with a bound its cells are excluded anyway.
fn edge_month(m: NaiveDate, lo: NaiveDate, hi: Option<NaiveDate>) -> (bool, Vec<Part>) {
    let captured = m != month(NOT_CAPTURED);
    let inside = month_days(lo, hi, 1, !captured);
    if !captured {
        return (false, inside);
    }
    let mut outside = month_days(m, Some(lo), -1, false);
    if let Some(hi) = hi {
        outside.extend(month_days(hi, next_month(m), -1, false));
    }
    if Cost::CELL + Cost::of(&outside) < Cost::of(&inside) {
        (true, outside)
    } else {
        (false, inside)
    }
}

impl CellRanges {
    /// Whole months inside `[from, to)` from the month cells. A partial month at an edge
    /// (the month of a bound that is not a 1st) is read by its cheaper side
    /// ([`edge_month`]): its whole blocks inside the range from the block cells and the
    /// leftover days from the day cells, or its month cell minus the blocks and days outside
    /// the range; a partial block again by its cheaper side. So a bound that is not a
    /// block's first day costs at most three days of day cells (a block has at most seven
    /// days and the side read is the smaller one), a bound on a block's first day none.
    pub fn split(from: Option<NaiveDate>, to: Option<NaiveDate>) -> CellRanges {
        let mut c = CellRanges {
            months: DateRange::EMPTY,
            parts: Vec::new(),
            not_captured: from.is_none() && to.is_none(),
        };
        if matches!((from, to), (Some(a), Some(b)) if a >= b) {
            return c;
        }
        // The partial months at the edges with their days in the range (one month when
        // both bounds are in it).
        let first = from.filter(|a| a.day() != 1);
        let last = to.filter(|b| b.day() != 1);
        let mut edges: Vec<(NaiveDate, NaiveDate, Option<NaiveDate>)> = Vec::with_capacity(2);
        match (first, last) {
            (Some(a), Some(b)) if month(a) == month(b) => edges.push((month(a), a, Some(b))),
            _ => {
                if let Some(a) = first {
                    edges.push((month(a), a, earlier(to, next_month(month(a)))));
                }
                if let Some(b) = last {
                    edges.push((
                        month(b),
                        from.map_or(month(b), |a| a.max(month(b))),
                        Some(b),
                    ));
                }
            }
        }
        let mut whole = BTreeSet::new();
        for (m, lo, hi) in edges {
            let (read_whole, parts) = edge_month(m, lo, hi);
            if read_whole {
                whole.insert(m);
            }
            c.parts.extend(parts);
        }
        debug_assert!(c.parts.len() <= 4, "{:?}", c.parts);
        // The month cells: from the first month wholly inside, or the first edge month read
        // whole, to the last such month.
        let lower = match from {
            None => Some(None),
            Some(a) if a.day() == 1 || whole.contains(&month(a)) => Some(Some(month(a))),
            // None: no month starts after `a`'s.
            Some(a) => next_month(month(a)).map(Some),
        };
        let upper = match to {
            None => None,
            Some(b) if b.day() == 1 => Some(b),
            Some(b) if whole.contains(&month(b)) => next_month(month(b)),
            Some(b) => Some(month(b)),
        };
        if let Some(lower) = lower {
            c.months = DateRange::new(lower, upper);
        }
        c
    }
}

#[cfg(test)]
mod tests;
