//! The cell a lead counts in, and the cells a batch moves.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use leadledger_domain::LeadState;

/// The day leads not captured yet sit on: no capture can have it (the earliest accepted
/// business time is 2000-01-01).
pub const NOT_CAPTURED: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => unreachable!(),
};

/// The first day of `day`'s month: the month cell a day cell sums into (1970-01-01, the
/// not-captured day, is its own month).
pub fn month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a first day")
}

/// The first day of `day`'s block: the block cell a day cell sums into. Blocks are the days
/// 1–7, 8–14, 15–21, 22–28 and 29 to the end of a month, so they never cross a month (block
/// cells sum exactly into month cells) and no block is longer than a week. As 28 is a multiple
/// of 7, the 29th–31st fall back to the 29th; 1970-01-01, a 1st, is its own block. The
/// migration and the store's rebuild compute the same in SQL:
/// `capture_day - (extract(day FROM capture_day)::int - 1) % 7`.
pub fn block(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from((day.day() - 1) % 7))
}

/// What one lead contributes to its day cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadCell {
    pub tenant: String,
    /// UTC day of the capture ([`NOT_CAPTURED`] before it).
    pub day: NaiveDate,
    /// channel, campaign, region, industry, segment, signed currency ("" unless signed): the
    /// cell key's text columns, in primary-key order.
    pub dims: [String; 6],
    pub max_rank: i16,
    /// Signed amount in minor units (0 unless signed).
    pub amount: i64,
    /// Of it, collected: payments in the signed currency (0 unless signed).
    pub collected: i64,
}

impl LeadCell {
    /// The cell of a folded lead.
    pub fn of_state(tenant: &str, st: &LeadState) -> LeadCell {
        let signed = st.max_rank >= 5;
        LeadCell {
            tenant: tenant.to_string(),
            day: st
                .captured_at
                .map_or(NOT_CAPTURED, |t: DateTime<Utc>| t.date_naive()),
            dims: [
                st.source.channel.clone(),
                st.source.campaign.clone(),
                st.company.region.clone(),
                st.company.industry.clone(),
                st.company.segment.as_str().to_string(),
                if signed {
                    st.signed_currency.clone()
                } else {
                    String::new()
                },
            ],
            max_rank: i16::from(st.max_rank),
            amount: if signed { st.signed_amount_minor } else { 0 },
            collected: st.collected_minor(),
        }
    }
}

/// A cell's key: tenant, day (or first day of its block or month), the six text dimensions.
pub type CellRef<'a> = (&'a str, NaiveDate, [&'a str; 6]);

/// How a cell moves: captured, mql, sql, poc, signed, signed amount, collected amount.
pub type CellDelta = [i64; 7];

/// The cells one batch moves at each level, in key order: day, block, month (the order the
/// store moves the tables in, so that concurrent projectors lock rows in the same order).
pub type Levels<'a> = [BTreeMap<CellRef<'a>, CellDelta>; 3];

/// The cells moved by replacing the `old` contributions with the `new` ones, per level. A
/// cell whose delta nets to zero is left out (a lead that moved between two days of one
/// block is no change to the block cell).
pub fn deltas<'a>(old: &'a [LeadCell], new: &'a [LeadCell]) -> Levels<'a> {
    let mut days: BTreeMap<CellRef<'a>, CellDelta> = BTreeMap::new();
    for (cells, sign) in [(old, -1), (new, 1)] {
        for c in cells {
            let d = days
                .entry((
                    c.tenant.as_str(),
                    c.day,
                    c.dims.each_ref().map(String::as_str),
                ))
                .or_default();
            for (rank, slot) in (1..=5).zip(d.iter_mut()) {
                if rank == 1 || c.max_rank >= rank {
                    *slot += sign;
                }
            }
            d[5] += sign * c.amount;
            d[6] += sign * c.collected;
        }
    }
    days.retain(|_, d| d.iter().any(|x| *x != 0));
    let blocks = roll_up(&days, block);
    let months = roll_up(&days, month);
    [days, blocks, months]
}

/// The day deltas summed by `of` (block or month), zero sums left out.
fn roll_up<'a>(
    days: &BTreeMap<CellRef<'a>, CellDelta>,
    of: fn(NaiveDate) -> NaiveDate,
) -> BTreeMap<CellRef<'a>, CellDelta> {
    let mut out: BTreeMap<CellRef<'a>, CellDelta> = BTreeMap::new();
    for ((tenant, day, text), d) in days {
        let cell = out.entry((tenant, of(*day), *text)).or_default();
        for (slot, x) in cell.iter_mut().zip(d) {
            *slot += x;
        }
    }
    out.retain(|_, d| d.iter().any(|x| *x != 0));
    out
}
