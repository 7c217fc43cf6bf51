//! The pre-aggregated funnel: per day (`funnel_cells`), per block of days
//! (`funnel_block_cells`) and per month (`funnel_month_cells`).
//!
//! Aggregating `leads` is a scan of every lead of the tenant: at 1M leads that is hundreds of
//! milliseconds per funnel query. The day cells hold the same counts per (capture day,
//! channel, campaign, region, industry, segment, signed currency); the block cells hold the
//! day cells summed per block, fixed runs of days inside a calendar month (days 1–7, 8–14,
//! 15–21, 22–28, 29 to the month's end: [`block`]); the month cells hold them summed per
//! calendar month. Blocks never cross a month, so each level sums exactly into the next.
//!
//! Each re-folded lead takes its old contribution out of its old cells and puts its new one
//! in its new cells ([`deltas`]); sums commute, so any batching (live or a replay) gives the
//! same cells, and the block and month cells always equal the day cells summed by block and
//! by month. A range is read from the three levels as [`CellRanges::split`] says.
//!
//! # Layout
//! - `cells`: the cell a lead counts in, block and month of a day, a batch's deltas.
//! - `ranges`: which cells a range of capture days reads.

mod cells;
mod ranges;

pub use cells::{block, deltas, month, CellDelta, CellRef, LeadCell, Levels, NOT_CAPTURED};
pub use ranges::{CellRanges, DateRange, Level, Part};
