//! The pre-aggregated funnel, moved by "new − old" inside the projection transaction: per
//! day (`funnel_cells`), per block of days (`funnel_block_cells`) and per month
//! (`funnel_month_cells`).
//!
//! Aggregating `leads` is a scan of every lead of the tenant: at 1M leads that is hundreds of
//! milliseconds per funnel query. The day cells hold the same counts per (capture day,
//! channel, campaign, region, industry, segment, signed currency); the block cells hold the
//! day cells summed per block, fixed runs of days inside a calendar month (days 1–7, 8–14,
//! 15–21, 22–28, 29 to the month's end: [`block`]); the month cells hold them summed per
//! calendar month. Blocks never cross a month, so each level sums exactly into the next.
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
//!
//! Each re-folded lead takes its old contribution out of its old cells and puts its new one
//! in its new cells; sums commute, so any batching (live or a replay) gives the same cells,
//! and the block and month cells always equal the day cells summed by block and by month.
//!
//! The three tables move in ONE statement per batch (each round trip in the projection
//! transaction costs freshness). Cells are updated in key order, day cells before block cells
//! before month cells, so two projector instances (different partitions, same cells) always
//! lock rows in the same order and cannot deadlock. The statement returns the keys of the
//! cells it emptied (`captured` = 0), which are then deleted by primary key; no index reads
//! `captured`, so the upserts that change it (most of them) can be HOT updates.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use leadledger_domain::LeadState;
use sqlx::{Postgres, Transaction};

use crate::StoreError;

/// The cell key, in primary-key order after the tenant.
type Key = (NaiveDate, String, String, String, String, String, String);

/// What one lead contributes to its cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeadCell {
    pub tenant: String,
    pub key: Key,
    pub max_rank: i16,
    pub amount: i64,
}

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
/// migration and [`rebuild`] compute the same in SQL:
/// `capture_day - (extract(day FROM capture_day)::int - 1) % 7`.
pub fn block(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from((day.day() - 1) % 7))
}

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
/// UTC day of a capture.
fn day(captured_at: Option<DateTime<Utc>>) -> NaiveDate {
    captured_at.map_or(NOT_CAPTURED, |t| t.date_naive())
}

impl LeadCell {
    pub(crate) fn of_state(tenant: &str, st: &LeadState) -> LeadCell {
        let signed = st.max_rank >= 5;
        LeadCell {
            tenant: tenant.to_string(),
            key: (
                day(st.captured_at),
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
            ),
            max_rank: i16::from(st.max_rank),
            amount: if signed { st.signed_amount_minor } else { 0 },
        }
    }
}

/// The tables of the three levels, in the order the statement moves them (day, block,
/// month: the lock order), with their date column.
const TABLES: [(&str, &str); 3] = [
    ("funnel_cells", "capture_day"),
    ("funnel_block_cells", "capture_block"),
    ("funnel_month_cells", "capture_month"),
];

/// Recomputes every cell of the three tables from `leads` (the migrations' backfills; for
/// tools that load `leads` without the projection).
pub async fn rebuild(conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    for (table, _) in TABLES.iter().rev() {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "INSERT INTO funnel_cells \
         SELECT tenant_id, coalesce((captured_at AT TIME ZONE 'UTC')::date, DATE '1970-01-01'), \
           channel, campaign, region, industry, segment, \
           CASE WHEN max_rank >= 5 THEN signed_currency ELSE '' END, \
           count(*), count(*) FILTER (WHERE max_rank >= 2), count(*) FILTER (WHERE max_rank >= 3), \
           count(*) FILTER (WHERE max_rank >= 4), count(*) FILTER (WHERE max_rank >= 5), \
           coalesce(sum(signed_amount_minor) FILTER (WHERE max_rank >= 5), 0) \
         FROM leads GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
    )
    .execute(&mut *conn)
    .await?;
    // The block and month of a day as in `block` and `month` (the cast to timestamp keeps
    // date_trunc off the session time zone).
    for (table, of_day) in [
        (
            "funnel_block_cells",
            "capture_day - (extract(day FROM capture_day)::int - 1) % 7",
        ),
        (
            "funnel_month_cells",
            "date_trunc('month', capture_day::timestamp)::date",
        ),
    ] {
        sqlx::query(&format!(
            "INSERT INTO {table} \
             SELECT tenant_id, {of_day}, channel, campaign, region, industry, segment, currency, \
               sum(captured)::int8, sum(mql)::int8, sum(sql)::int8, sum(poc)::int8, \
               sum(signed)::int8, sum(signed_amount_minor)::int8 \
             FROM funnel_cells GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A cell's key as bound to the statement: tenant, day, block or month, the six text
/// dimensions.
type Row<'a> = (&'a str, NaiveDate, [&'a str; 6]);

/// Column arrays of one UNNEST, in the order of the rows given.
#[derive(Default)]
struct Columns<'a> {
    tenant: Vec<&'a str>,
    date: Vec<NaiveDate>,
    text: [Vec<&'a str>; 6],
    counts: [Vec<i64>; 6],
}

impl<'a> Columns<'a> {
    fn of(rows: &BTreeMap<Row<'a>, [i64; 6]>) -> Self {
        let mut c = Columns::default();
        for ((tenant, date, text), counts) in rows {
            c.tenant.push(tenant);
            c.date.push(*date);
            for (v, col) in text.iter().zip(c.text.iter_mut()) {
                col.push(v);
            }
            for (x, col) in counts.iter().zip(c.counts.iter_mut()) {
                col.push(*x);
            }
        }
        c
    }
}

/// The upsert of one table from the UNNEST of parameters `$first..$first+13`, returning each
/// moved cell's key and new `captured`.
fn upsert_sql(table: &str, date_col: &str, first: usize) -> String {
    let p: Vec<String> = (first..first + 14).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO {table} AS f \
         SELECT t, dt, ch, ca, re, ind, seg, cur, c, m, s, p, w, a \
         FROM UNNEST({}::text[], {}::date[], {}::text[], {}::text[], {}::text[], {}::text[], \
           {}::text[], {}::text[], {}::int8[], {}::int8[], {}::int8[], {}::int8[], \
           {}::int8[], {}::int8[]) WITH ORDINALITY \
           AS d(t, dt, ch, ca, re, ind, seg, cur, c, m, s, p, w, a, ord) \
         ORDER BY ord \
         ON CONFLICT (tenant_id, {date_col}, channel, campaign, region, industry, segment, \
           currency) DO UPDATE SET \
           captured = f.captured + EXCLUDED.captured, mql = f.mql + EXCLUDED.mql, \
           sql = f.sql + EXCLUDED.sql, poc = f.poc + EXCLUDED.poc, \
           signed = f.signed + EXCLUDED.signed, \
           signed_amount_minor = f.signed_amount_minor + EXCLUDED.signed_amount_minor \
         RETURNING f.tenant_id, f.{date_col}, f.channel, f.campaign, f.region, f.industry, \
           f.segment, f.currency, f.captured",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13]
    )
}

/// A cell the upsert emptied: its table's index in [`TABLES`], and its key.
type Emptied = (
    i32,
    String,
    NaiveDate,
    String,
    String,
    String,
    String,
    String,
    String,
);

/// The day deltas summed by `of` (block or month): a lead moved between two days of one
/// block or month nets to zero there, and such cells are left out.
fn roll_up<'a>(
    days: &BTreeMap<Row<'a>, [i64; 6]>,
    of: fn(NaiveDate) -> NaiveDate,
) -> BTreeMap<Row<'a>, [i64; 6]> {
    let mut out: BTreeMap<Row<'a>, [i64; 6]> = BTreeMap::new();
    for ((tenant, day, text), d) in days {
        let cell = out.entry((tenant, of(*day), *text)).or_default();
        for (slot, x) in cell.iter_mut().zip(d) {
            *slot += x;
        }
    }
    out.retain(|_, d| d.iter().any(|x| *x != 0));
    out
}

/// The statement moving the three tables: one upsert CTE per table (parameters 1–14 the
/// day cells, 15–28 the block cells, 29–42 the month cells), returning the keys of the cells
/// they emptied. The outer UNION ALL reads the CTEs in [`TABLES`] order (branch after
/// branch), so every instance finishes its day rows before it locks block rows, and those
/// before month rows.
static APPLY_SQL: LazyLock<String> = LazyLock::new(|| {
    let ctes: Vec<String> = TABLES
        .iter()
        .enumerate()
        .map(|(i, (table, col))| format!("u{i} AS ({})", upsert_sql(table, col, 1 + 14 * i)))
        .collect();
    let emptied: Vec<String> = TABLES
        .iter()
        .enumerate()
        .map(|(i, (_, col))| {
            format!(
                "SELECT {i}, tenant_id, {col}, channel, campaign, region, industry, segment, \
                   currency FROM u{i} WHERE captured = 0"
            )
        })
        .collect();
    format!("WITH {} {}", ctes.join(", "), emptied.join(" UNION ALL "))
});

/// Moves the cells of the three tables from the `old` contributions to the `new` ones, in
/// one statement.
pub(crate) async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    old: &[LeadCell],
    new: &[LeadCell],
) -> Result<(), StoreError> {
    // (tenant, day, dims) → [captured, mql, sql, poc, signed, amount]
    let mut days: BTreeMap<Row<'_>, [i64; 6]> = BTreeMap::new();
    for (cells, sign) in [(old, -1), (new, 1)] {
        for c in cells {
            let k = &c.key;
            let text = [&k.1, &k.2, &k.3, &k.4, &k.5, &k.6].map(String::as_str);
            let d = days.entry((c.tenant.as_str(), k.0, text)).or_default();
            for (rank, slot) in (1..=5).zip(d.iter_mut()) {
                if rank == 1 || c.max_rank >= rank {
                    *slot += sign;
                }
            }
            d[5] += sign * c.amount;
        }
    }
    days.retain(|_, d| d.iter().any(|x| *x != 0));
    if days.is_empty() {
        return Ok(());
    }
    // In [`TABLES`] order. Rows are upserted in key order (the BTreeMaps' order) so two
    // projector instances moving the same cells lock them in the same order.
    let levels = [
        roll_up(&days, |d| d),
        roll_up(&days, block),
        roll_up(&days, month),
    ];
    let mut q = sqlx::query_as::<_, Emptied>(APPLY_SQL.as_str());
    for c in levels.iter().map(Columns::of) {
        q = q.bind(c.tenant).bind(c.date);
        for col in c.text {
            q = q.bind(col);
        }
        for col in c.counts {
            q = q.bind(col);
        }
    }
    let emptied = q.fetch_all(&mut **tx).await?;
    if emptied.is_empty() {
        // Most batches empty no cell.
        return Ok(());
    }
    // Deleting the emptied cells keeps each table equal, row for row, to its aggregate (of
    // `leads`, of the day cells by block and by month). By key, in key order: this
    // transaction already holds these rows' locks (it just updated them), so the DELETEs
    // wait for no one.
    let mut keys: [BTreeSet<(String, NaiveDate, [String; 6])>; 3] = Default::default();
    for (table, tenant, date, ch, ca, re, ind, seg, cur) in emptied {
        let slot = usize::try_from(table)
            .ok()
            .and_then(|i| keys.get_mut(i))
            .ok_or_else(|| StoreError::Corrupt(format!("emptied cell of table {table}")))?;
        slot.insert((tenant, date, [ch, ca, re, ind, seg, cur]));
    }
    for ((table, date_col), keys) in TABLES.into_iter().zip(keys) {
        if !keys.is_empty() {
            delete_cells(tx, table, date_col, keys).await?;
        }
    }
    Ok(())
}

/// Deletes the cells of `table` with these keys (emptied cells).
async fn delete_cells(
    tx: &mut Transaction<'_, Postgres>,
    table: &str,
    date_col: &str,
    keys: BTreeSet<(String, NaiveDate, [String; 6])>,
) -> Result<(), StoreError> {
    let mut tenant = Vec::with_capacity(keys.len());
    let mut date = Vec::with_capacity(keys.len());
    let mut text: [Vec<String>; 6] = Default::default();
    for (t, dt, dims) in keys {
        tenant.push(t);
        date.push(dt);
        for (v, col) in dims.into_iter().zip(text.iter_mut()) {
            col.push(v);
        }
    }
    let sql = format!(
        "DELETE FROM {table} f \
         USING UNNEST($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], \
           $6::text[], $7::text[], $8::text[]) AS k(t, dt, ch, ca, re, ind, seg, cur) \
         WHERE f.tenant_id = k.t AND f.{date_col} = k.dt AND f.channel = k.ch \
           AND f.campaign = k.ca AND f.region = k.re AND f.industry = k.ind \
           AND f.segment = k.seg AND f.currency = k.cur"
    );
    let mut q = sqlx::query(&sql).bind(tenant).bind(date);
    for col in text {
        q = q.bind(col);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
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
}
