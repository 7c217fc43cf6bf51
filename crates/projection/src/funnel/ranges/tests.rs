//! Which cells a range reads: every day counted once, no other day, at the smallest cost.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn r(from: Option<NaiveDate>, to: Option<NaiveDate>) -> DateRange {
    DateRange { from, to }
}

fn part(level: Level, from: NaiveDate, to: NaiveDate, sign: i64) -> Part {
    Part {
        level,
        range: r(Some(from), Some(to)),
        sign,
    }
}

/// Adds the days `[from, to)`.
fn days(from: NaiveDate, to: NaiveDate) -> Part {
    part(Level::Day, from, to, 1)
}

/// Takes out the days `[from, to)`.
fn less_days(from: NaiveDate, to: NaiveDate) -> Part {
    part(Level::Day, from, to, -1)
}

/// Adds the blocks starting in `[from, to)`.
fn blocks(from: NaiveDate, to: NaiveDate) -> Part {
    part(Level::Block, from, to, 1)
}

/// Takes out the blocks starting in `[from, to)`.
fn less_blocks(from: NaiveDate, to: NaiveDate) -> Part {
    part(Level::Block, from, to, -1)
}

fn within(r: &DateRange, x: NaiveDate) -> bool {
    r.from.is_none_or(|a| x >= a) && r.to.is_none_or(|b| x < b)
}

/// How many times the funnel query counts day `x`'s cells under `c`: its month cell if
/// its month is in `c.months`, plus the signs of the block ranges holding its block and
/// of the day ranges holding it; the query reads 1970-01-01 (day, block or month) only
/// when `c.not_captured`.
fn weight(c: &CellRanges, x: NaiveDate) -> i64 {
    let read = |date: NaiveDate| c.not_captured || date != NOT_CAPTURED;
    let holds = |p: &Part| match p.level {
        Level::Block => within(&p.range, block(x)) && read(block(x)),
        Level::Day => within(&p.range, x) && read(x),
    };
    i64::from(within(&c.months, month(x)) && read(month(x)))
        + c.parts
            .iter()
            .filter(|p| holds(p))
            .map(|p| p.sign)
            .sum::<i64>()
}

#[test]
fn month_and_next_month() {
    assert_eq!(month(d(2026, 4, 1)), d(2026, 4, 1));
    assert_eq!(month(d(2026, 4, 30)), d(2026, 4, 1));
    assert_eq!(month(NOT_CAPTURED), NOT_CAPTURED);
    assert_eq!(next_month(d(2026, 4, 1)), Some(d(2026, 5, 1)));
    assert_eq!(next_month(d(2026, 12, 1)), Some(d(2027, 1, 1)));
    assert_eq!(next_month(month(NaiveDate::MAX)), None);
    assert_eq!(days_between(d(2028, 2, 1), Some(d(2028, 3, 1))), 29);
    assert_eq!(days_between(month(NaiveDate::MAX), None), 31);
}

#[test]
fn blocks_start_on_the_1st_8th_15th_22nd_and_29th() {
    for (m, len) in [(1, 31), (4, 30), (2, 28)] {
        for (day, start) in [
            (1, 1),
            (7, 1),
            (8, 8),
            (14, 8),
            (15, 15),
            (21, 15),
            (22, 22),
            (28, 22),
        ] {
            assert_eq!(block(d(2027, m, day)), d(2027, m, start), "2027-{m}-{day}");
        }
        for day in 29..=len {
            assert_eq!(block(d(2027, m, day)), d(2027, m, 29), "2027-{m}-{day}");
        }
    }
    assert_eq!(block(d(2028, 2, 29)), d(2028, 2, 29));
    assert_eq!(block(d(2027, 12, 31)), d(2027, 12, 29));
    assert_eq!(block(NOT_CAPTURED), NOT_CAPTURED);
    assert_eq!(block(NaiveDate::MAX), month(NaiveDate::MAX) + Days::new(28));
    // A week, or up to the next month; February's 29th block is empty in a common year.
    assert_eq!(next_block(d(2027, 5, 1)), Some(d(2027, 5, 8)));
    assert_eq!(next_block(d(2027, 5, 22)), Some(d(2027, 5, 29)));
    assert_eq!(next_block(d(2027, 5, 29)), Some(d(2027, 6, 1)));
    assert_eq!(next_block(d(2027, 4, 29)), Some(d(2027, 5, 1)));
    assert_eq!(next_block(d(2027, 12, 29)), Some(d(2028, 1, 1)));
    assert_eq!(next_block(d(2027, 2, 22)), Some(d(2027, 3, 1)));
    assert_eq!(next_block(d(2028, 2, 22)), Some(d(2028, 2, 29)));
    assert_eq!(next_block(d(2028, 2, 29)), Some(d(2028, 3, 1)));
    assert_eq!(next_block(NOT_CAPTURED), Some(d(1970, 1, 8)));
    assert_eq!(next_block(block(NaiveDate::MAX)), None);
    // Every day of a span lies in the block `block` names, and the blocks tile it.
    let mut x = d(2026, 12, 1);
    while x < d(2028, 4, 1) {
        let (b, end) = (block(x), next_block(block(x)).unwrap());
        assert!(
            b <= x && x < end && month(b) == month(end.pred_opt().unwrap()),
            "{x}"
        );
        assert!((end - b).num_days() <= 7, "{x}");
        let next = x.succ_opt().unwrap();
        assert_eq!(block(next) == b, next < end, "{x}");
        x = next;
    }
}

#[test]
fn no_bounds_read_every_month_cell_with_the_not_captured_one() {
    let c = CellRanges::split(None, None);
    assert_eq!(
        c,
        CellRanges {
            months: DateRange::ALL,
            parts: Vec::new(),
            not_captured: true
        }
    );
}

#[test]
fn one_bound_reads_the_blocks_of_its_month_and_at_most_three_days() {
    // From the 15th of a 30-day month: its blocks of the 15th, 22nd and 29th.
    let c = CellRanges::split(Some(d(2026, 4, 15)), None);
    assert_eq!(c.months, r(Some(d(2026, 5, 1)), None));
    assert_eq!(c.parts, [blocks(d(2026, 4, 15), d(2026, 5, 1))]);
    assert!(!c.not_captured);
    // From the 17th: the days 17–21 are five of a seven-day block: the block minus two.
    let c = CellRanges::split(Some(d(2026, 4, 17)), None);
    assert_eq!(c.months, r(Some(d(2026, 5, 1)), None));
    assert_eq!(
        c.parts,
        [
            blocks(d(2026, 4, 15), d(2026, 5, 1)),
            less_days(d(2026, 4, 15), d(2026, 4, 17))
        ]
    );
    // From the 4th: four days in the first block, the month minus the three days before
    // (cheaper than four blocks and the block of the 1st minus three days).
    let c = CellRanges::split(Some(d(2026, 4, 4)), None);
    assert_eq!(c.months, r(Some(d(2026, 4, 1)), None));
    assert_eq!(c.parts, [less_days(d(2026, 4, 1), d(2026, 4, 4))]);
    // From the 5th: the month minus the block of the 1st, plus its days 5–7 back.
    let c = CellRanges::split(Some(d(2026, 4, 5)), None);
    assert_eq!(c.months, r(Some(d(2026, 4, 1)), None));
    assert_eq!(
        c.parts,
        [
            less_blocks(d(2026, 4, 1), d(2026, 4, 8)),
            days(d(2026, 4, 5), d(2026, 4, 8))
        ]
    );
    // From the 12th: its last three blocks and the days 12–14 (as cheap as the month
    // minus the blocks of the 1st and 8th plus the days 12–14: the smaller reading).
    let c = CellRanges::split(Some(d(2026, 4, 12)), None);
    assert_eq!(c.months, r(Some(d(2026, 5, 1)), None));
    assert_eq!(
        c.parts,
        [
            blocks(d(2026, 4, 15), d(2026, 5, 1)),
            days(d(2026, 4, 12), d(2026, 4, 15))
        ]
    );
    // From the 30th of a 31-day month: its block of the 29th minus the 29th (a block
    // cell costs about a day: one day of day cells instead of two).
    let c = CellRanges::split(Some(d(2026, 5, 30)), None);
    assert_eq!(c.months, r(Some(d(2026, 6, 1)), None));
    assert_eq!(
        c.parts,
        [
            blocks(d(2026, 5, 29), d(2026, 6, 1)),
            less_days(d(2026, 5, 29), d(2026, 5, 30))
        ]
    );
    // From the 1st: months only.
    let c = CellRanges::split(Some(d(2026, 4, 1)), None);
    assert_eq!(c.months, r(Some(d(2026, 4, 1)), None));
    assert_eq!(c.parts, []);

    // Up to the 10th: the block of the 1st and the days 8–9.
    let c = CellRanges::split(None, Some(d(2026, 6, 10)));
    assert_eq!(c.months, r(None, Some(d(2026, 6, 1))));
    assert_eq!(
        c.parts,
        [
            blocks(d(2026, 6, 1), d(2026, 6, 8)),
            days(d(2026, 6, 8), d(2026, 6, 10))
        ]
    );
    assert!(!c.not_captured);
    // Up to the 20th: its first three blocks minus the days 20–21.
    let c = CellRanges::split(None, Some(d(2026, 6, 20)));
    assert_eq!(c.months, r(None, Some(d(2026, 6, 1))));
    assert_eq!(
        c.parts,
        [
            blocks(d(2026, 6, 1), d(2026, 6, 22)),
            less_days(d(2026, 6, 20), d(2026, 6, 22))
        ]
    );
    // Up to the 26th: the month minus its block of the 29th and the days 26–28.
    let c = CellRanges::split(None, Some(d(2026, 6, 26)));
    assert_eq!(c.months, r(None, Some(d(2026, 7, 1))));
    assert_eq!(
        c.parts,
        [
            less_blocks(d(2026, 6, 29), d(2026, 7, 1)),
            less_days(d(2026, 6, 26), d(2026, 6, 29))
        ]
    );
    // Up to the 1st: months only.
    let c = CellRanges::split(None, Some(d(2026, 6, 1)));
    assert_eq!(c.months, r(None, Some(d(2026, 6, 1))));
    assert_eq!(c.parts, []);
}

#[test]
fn two_bounds_read_each_edge_month_by_its_cheaper_side() {
    // The benchmark's mid-month edges: April's last three blocks, June's first block and
    // two days (was: April's month minus 14 days, and 9 days of June).
    let c = CellRanges::split(Some(d(2026, 4, 15)), Some(d(2026, 6, 10)));
    assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 6, 1))));
    assert_eq!(
        c.parts,
        [
            blocks(d(2026, 4, 15), d(2026, 5, 1)),
            blocks(d(2026, 6, 1), d(2026, 6, 8)),
            days(d(2026, 6, 8), d(2026, 6, 10))
        ]
    );
    assert!(!c.not_captured);
    // Both by complement: the 2nd of a month to the 30th of the next.
    let c = CellRanges::split(Some(d(2026, 5, 2)), Some(d(2026, 6, 30)));
    assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 7, 1))));
    assert_eq!(
        c.parts,
        [
            less_days(d(2026, 5, 1), d(2026, 5, 2)),
            less_days(d(2026, 6, 30), d(2026, 7, 1))
        ]
    );
    // The 30 days of a 31-day month from its 1st: the month minus its last day.
    let c = CellRanges::split(Some(d(2026, 5, 1)), Some(d(2026, 5, 31)));
    assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 6, 1))));
    assert_eq!(c.parts, [less_days(d(2026, 5, 31), d(2026, 6, 1))]);
    // Both bounds inside one month, on block starts: its blocks in between.
    let c = CellRanges::split(Some(d(2026, 5, 8)), Some(d(2026, 5, 22)));
    assert_eq!(c.months, DateRange::EMPTY);
    assert_eq!(c.parts, [blocks(d(2026, 5, 8), d(2026, 5, 22))]);
    // Both bounds inside one month, most of it in: the month minus both ends.
    let c = CellRanges::split(Some(d(2026, 5, 3)), Some(d(2026, 5, 31)));
    assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 6, 1))));
    assert_eq!(
        c.parts,
        [
            less_days(d(2026, 5, 1), d(2026, 5, 3)),
            less_days(d(2026, 5, 31), d(2026, 6, 1))
        ]
    );
    // Across a block boundary inside one month: the block of the 8th minus its days
    // before the 10th, and the days 15–16.
    let c = CellRanges::split(Some(d(2026, 5, 10)), Some(d(2026, 5, 17)));
    assert_eq!(c.months, DateRange::EMPTY);
    assert_eq!(
        c.parts,
        [
            blocks(d(2026, 5, 8), d(2026, 5, 15)),
            less_days(d(2026, 5, 8), d(2026, 5, 10)),
            days(d(2026, 5, 15), d(2026, 5, 17))
        ]
    );
    // Inside one block: its days, or the block minus its days outside.
    let c = CellRanges::split(Some(d(2026, 5, 16)), Some(d(2026, 5, 19)));
    assert_eq!(c.parts, [days(d(2026, 5, 16), d(2026, 5, 19))]);
    let c = CellRanges::split(Some(d(2026, 5, 16)), Some(d(2026, 5, 21)));
    assert_eq!(
        c.parts,
        [
            blocks(d(2026, 5, 15), d(2026, 5, 22)),
            less_days(d(2026, 5, 15), d(2026, 5, 16)),
            less_days(d(2026, 5, 21), d(2026, 5, 22))
        ]
    );
    // Exactly one month; a quarter on month starts.
    let c = CellRanges::split(Some(d(2026, 5, 1)), Some(d(2026, 6, 1)));
    assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 6, 1))));
    assert_eq!(c.parts, []);
    let c = CellRanges::split(Some(d(2026, 4, 1)), Some(d(2026, 7, 1)));
    assert_eq!(c.months, r(Some(d(2026, 4, 1)), Some(d(2026, 7, 1))));
    assert_eq!(c.parts, []);
    // Across the new year.
    let c = CellRanges::split(Some(d(2025, 12, 20)), Some(d(2026, 2, 3)));
    assert_eq!(c.months, r(Some(d(2026, 1, 1)), Some(d(2026, 2, 1))));
    assert_eq!(
        c.parts,
        [
            blocks(d(2025, 12, 22), d(2026, 1, 1)),
            days(d(2025, 12, 20), d(2025, 12, 22)),
            days(d(2026, 2, 1), d(2026, 2, 3))
        ]
    );
}

#[test]
fn short_ranges_add_their_days_and_blocks() {
    for (from, to, want) in [
        // Inside one block; across a block boundary; across a month's end.
        (
            d(2026, 5, 10),
            d(2026, 5, 12),
            vec![days(d(2026, 5, 10), d(2026, 5, 12))],
        ),
        (
            d(2026, 5, 13),
            d(2026, 5, 16),
            vec![
                days(d(2026, 5, 13), d(2026, 5, 15)),
                days(d(2026, 5, 15), d(2026, 5, 16)),
            ],
        ),
        (
            d(2026, 4, 30),
            d(2026, 5, 2),
            vec![
                days(d(2026, 4, 30), d(2026, 5, 1)),
                days(d(2026, 5, 1), d(2026, 5, 2)),
            ],
        ),
        // The 29th block of a 30-day month, whole.
        (
            d(2026, 4, 29),
            d(2026, 5, 1),
            vec![blocks(d(2026, 4, 29), d(2026, 5, 1))],
        ),
        // A common February has no 29th block: its 22nd block runs to March.
        (
            d(2027, 2, 22),
            d(2027, 3, 1),
            vec![blocks(d(2027, 2, 22), d(2027, 3, 1))],
        ),
        (
            d(2027, 2, 27),
            d(2027, 3, 2),
            vec![
                days(d(2027, 2, 27), d(2027, 3, 1)),
                days(d(2027, 3, 1), d(2027, 3, 2)),
            ],
        ),
        // A leap February's 29th block is its 29th alone.
        (
            d(2028, 2, 28),
            d(2028, 3, 1),
            vec![
                blocks(d(2028, 2, 29), d(2028, 3, 1)),
                days(d(2028, 2, 28), d(2028, 2, 29)),
            ],
        ),
    ] {
        let c = CellRanges::split(Some(from), Some(to));
        assert_eq!(c.months, DateRange::EMPTY, "{from}..{to}");
        assert_eq!(c.parts, want, "{from}..{to}");
    }
    // Empty and reversed ranges read nothing.
    for (from, to) in [
        (d(2026, 5, 3), d(2026, 5, 3)),
        (d(2026, 7, 3), d(2026, 5, 3)),
    ] {
        let c = CellRanges::split(Some(from), Some(to));
        assert_eq!((c.months, c.parts), (DateRange::EMPTY, Vec::new()));
    }
    // The last representable month: no month starts after it.
    let c = CellRanges::split(Some(NaiveDate::MAX), None);
    assert_eq!(c.months, DateRange::EMPTY);
    assert_eq!(
        c.parts,
        [Part {
            level: Level::Day,
            range: r(Some(NaiveDate::MAX), None),
            sign: 1
        }]
    );
    let dec2 = month(NaiveDate::MAX).succ_opt().unwrap();
    let c = CellRanges::split(Some(dec2), None);
    assert_eq!(c.months, r(Some(month(NaiveDate::MAX)), None));
    assert_eq!(c.parts, [less_days(month(NaiveDate::MAX), dec2)]);
    let c = CellRanges::split(Some(block(NaiveDate::MAX)), None);
    assert_eq!(c.months, DateRange::EMPTY);
    assert_eq!(
        c.parts,
        [Part {
            level: Level::Block,
            range: r(Some(block(NaiveDate::MAX)), None),
            sign: 1
        }]
    );
}

/// `split`'s parts and months as signed runs of days: `+1` from a run's first day, `-1`
/// from the day after it (`None`: the start or the end of time). Exact because every
/// month range starts and ends on 1sts and every block range on blocks' first days
/// (asserted by the caller).
fn steps(c: &CellRanges) -> BTreeMap<(bool, Option<NaiveDate>), i64> {
    let mut steps: BTreeMap<(bool, Option<NaiveDate>), i64> = BTreeMap::new();
    let runs = [(c.months, 1)]
        .into_iter()
        .chain(c.parts.iter().map(|p| (p.range, p.sign)))
        .filter(|(r, _)| *r != DateRange::EMPTY);
    for (r, sign) in runs {
        // (false, None) sorts first: the start of time; (true, None) the end.
        *steps.entry((r.from.is_some(), r.from)).or_default() += sign;
        *steps.entry((true, r.to)).or_default() -= sign;
    }
    steps.retain(|_, n| *n != 0);
    steps
}

/// For every pair of bounds (none, or any day of a span of 15 months across two new
/// years, with a leap and a common February and months of every length), the
/// month, block and day cells summed with their signs count each day of `[from, to)`
/// once and no other day. Every part lies in one edge month, block ranges run from
/// block start to block start and day ranges inside one block; a range reads at most
/// four parts and at most three days of day cells per bound that is not a block's first
/// day.
#[test]
fn every_split_counts_each_day_of_the_range_once() {
    let span = |a: NaiveDate, b: NaiveDate| a.iter_days().take_while(move |x| *x < b);
    let bounds: Vec<Option<NaiveDate>> = [None]
        .into_iter()
        .chain(span(d(2027, 11, 20), d(2029, 3, 10)).map(Some))
        .collect();
    let (mut pairs, mut whole_months, mut by_block, mut max_days) = (0, 0, 0, 0);
    for &from in &bounds {
        for &to in &bounds {
            let c = CellRanges::split(from, to);
            for b in [c.months.from, c.months.to].into_iter().flatten() {
                assert_eq!(b.day(), 1, "month range of {c:?}");
            }
            assert!(c.parts.len() <= 4, "{c:?}");
            let mut days_read = 0;
            for p in &c.parts {
                let (Some(a), Some(b)) = (p.range.from, p.range.to) else {
                    panic!("unbounded part in {c:?}");
                };
                let last = b.pred_opt().unwrap();
                assert!(a < b && month(a) == month(last), "{c:?}");
                match p.level {
                    Level::Block => {
                        assert!(block(a) == a && block(b) == b, "{c:?}");
                        by_block += 1;
                    }
                    Level::Day => {
                        assert_eq!(block(a), block(last), "{c:?}");
                        days_read += (b - a).num_days();
                    }
                }
            }
            let mid_block = [from, to]
                .into_iter()
                .flatten()
                .filter(|x| block(*x) != *x)
                .count();
            assert!(days_read <= 3 * mid_block as i64, "{days_read} days: {c:?}");
            max_days = max_days.max(days_read);
            // The month cells read beyond the whole months of the range.
            let whole = |m: NaiveDate| {
                from.is_none_or(|a| a <= m) && to.is_none_or(|b| next_month(m) <= Some(b))
            };
            let extra = [c.months.from, c.months.to.and_then(|t| t.pred_opt())]
                .into_iter()
                .flatten()
                .map(month)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|m| !whole(*m))
                .count();
            whole_months += usize::from(extra > 0 && c.months != DateRange::EMPTY);
            let want: BTreeMap<(bool, Option<NaiveDate>), i64> = match (from, to) {
                (Some(a), Some(b)) if a >= b => BTreeMap::new(),
                _ => [((from.is_some(), from), 1), ((true, to), -1)].into(),
            };
            assert_eq!(steps(&c), want, "[{from:?}, {to:?}): {c:?}");
            pairs += 1;
        }
    }
    // The other branches are taken too.
    assert!(whole_months > pairs / 5, "{whole_months} of {pairs}");
    assert!(by_block > pairs / 2, "{by_block} of {pairs}");
    assert_eq!(max_days, 6);
}

/// The same, day by day through the query's own weighting ([`weight`]), over a shorter
/// span around a leap February.
#[test]
fn every_split_weighs_each_day_of_the_range_once() {
    let span = |a: NaiveDate, b: NaiveDate| a.iter_days().take_while(move |x| *x < b);
    let bounds: Vec<Option<NaiveDate>> = [None]
        .into_iter()
        .chain(span(d(2027, 12, 20), d(2028, 3, 12)).map(Some))
        .collect();
    for &from in &bounds {
        for &to in &bounds {
            let c = CellRanges::split(from, to);
            for x in span(d(2027, 11, 1), d(2028, 4, 30)) {
                let want = from.is_none_or(|a| x >= a) && to.is_none_or(|b| x < b);
                assert_eq!(
                    weight(&c, x),
                    i64::from(want),
                    "{x} in [{from:?}, {to:?}): {c:?}"
                );
            }
        }
    }
}

/// The not-captured cell (1970-01-01, its own block and month) is read without bounds
/// only, and its month is never read by complement (its other days hold no cells: no
/// capture precedes 2000).
#[test]
fn the_not_captured_cell_is_read_without_bounds_only() {
    let bounds = [
        None,
        Some(d(1969, 12, 1)),
        Some(d(1969, 12, 31)),
        Some(NOT_CAPTURED),
        Some(d(1970, 1, 2)),
        Some(d(1970, 1, 6)),
        Some(d(1970, 1, 8)),
        Some(d(1970, 1, 17)),
        Some(d(1970, 1, 31)),
        Some(d(1970, 2, 1)),
        Some(d(1970, 2, 20)),
        Some(d(2026, 5, 10)),
    ];
    for from in bounds {
        for to in bounds {
            let c = CellRanges::split(from, to);
            assert_eq!(
                weight(&c, NOT_CAPTURED),
                i64::from(from.is_none() && to.is_none()),
                "[{from:?}, {to:?}): {c:?}"
            );
            for p in &c.parts {
                assert!(
                    p.sign > 0 || p.range.from.map(month) != Some(month(NOT_CAPTURED)),
                    "{c:?}"
                );
            }
        }
    }
}
