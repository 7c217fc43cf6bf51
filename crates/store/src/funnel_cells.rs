//! The pre-aggregated funnel, moved by "new − old" inside the projection transaction: per
//! day (`funnel_cells`) and per month (`funnel_month_cells`).
//!
//! Aggregating `leads` is a scan of every lead of the tenant: at 1M leads that is hundreds of
//! milliseconds per funnel query. The day cells hold the same counts per (capture day,
//! channel, campaign, region, industry, segment, signed currency); the month cells hold the
//! day cells summed per calendar month. A funnel over whole days reads the whole months of
//! its range from the month cells, and each partial month at its edges by its smaller side
//! ([`CellRanges::split`]): its days inside the range from the day cells, or, when those are
//! more than half the month, its month cell minus the day cells of its days outside the
//! range. A quarter's funnel thus reads a few thousand small rows instead of ~180k, and no
//! range reads more than half a month of day cells per edge (the 30 days 05-01..05-31: May's
//! month cells minus May 31's day cells, instead of 30 days of day cells). Each re-folded
//! lead takes its old contribution out of its old cells and puts its new one in its new
//! cells; sums commute, so any batching (live or a replay) gives the same cells, and the
//! month cells always equal the day cells summed by month.
//!
//! Both tables move in ONE statement per batch (each round trip in the projection
//! transaction costs freshness). Cells are updated in key order, day cells before month
//! cells, so two projector instances (different partitions, same cells) always lock rows in
//! the same order and cannot deadlock. The statement returns the keys of the cells it
//! emptied (`captured` = 0), which are then deleted by primary key; no index reads
//! `captured`, so the upserts that change it (most of them) can be HOT updates.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
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

/// Day cells read with a sign: `+1` adds the days of the range (a partial month read day by
/// day), `-1` takes back out the days a month cell holds beyond the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayPart {
    pub range: DateRange,
    pub sign: i64,
}

impl DayPart {
    /// Reads nothing.
    pub const NONE: DayPart = DayPart {
        range: DateRange::EMPTY,
        sign: 1,
    };
}

/// Which cells the funnel over captures in `[from, to)` (whole UTC days) reads: the month
/// cells of `months`, plus or minus the day cells of `days` (each within one partial month at
/// an edge of the range), and the not-captured cell only when `not_captured` (no bound
/// given). Summed with their signs they count every day of `[from, to)` once and no other
/// day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellRanges {
    /// Over `funnel_month_cells.capture_month` (first days of months): the whole months of
    /// the range and the edge months read as month cell minus excluded days.
    pub months: DateRange,
    /// Over `funnel_cells.capture_day`.
    pub days: [DayPart; 2],
    pub not_captured: bool,
}

/// The first day of the month after `m`'s; `None` past the last representable month (read:
/// unbounded above).
fn next_month(m: NaiveDate) -> Option<NaiveDate> {
    m.checked_add_months(Months::new(1))
}

/// Days in `[a, b)`, `b` `None` meaning the end of time (the day after `NaiveDate::MAX`).
fn days_between(a: NaiveDate, b: Option<NaiveDate>) -> i64 {
    b.map_or((NaiveDate::MAX - a).num_days() + 1, |b| (b - a).num_days())
}

/// `a < b` with `None` as the end of time.
fn before(a: NaiveDate, b: Option<NaiveDate>) -> bool {
    b.is_none_or(|b| a < b)
}

impl CellRanges {
    /// Whole months inside `[from, to)` from the month cells. A partial month at an edge
    /// (the month of a bound that is not a 1st) is read from the day cells of its days inside
    /// the range when they are at most half the month, else as its month cell minus the day
    /// cells of its days outside the range: at most half a month of day cells per edge
    /// either way (a 30-day range in a 31-day month reads one month cell and one day). The
    /// not-captured month (1970-01, only ever holding its first day) is never read that way:
    /// with a bound its cell is excluded.
    pub fn split(from: Option<NaiveDate>, to: Option<NaiveDate>) -> CellRanges {
        let mut c = CellRanges {
            months: DateRange::EMPTY,
            days: [DayPart::NONE; 2],
            not_captured: from.is_none() && to.is_none(),
        };
        if matches!((from, to), (Some(a), Some(b)) if a >= b) {
            return c;
        }
        // The days of month `m` inside the range, `[lo, hi)`.
        let inside = |m: NaiveDate| {
            let lo = from.map_or(m, |a| a.max(m));
            let hi = match (to, next_month(m)) {
                (Some(b), Some(n)) => Some(b.min(n)),
                (b, n) => b.or(n),
            };
            (lo, hi)
        };
        let complement = |m: NaiveDate| {
            let (lo, hi) = inside(m);
            m != month(NOT_CAPTURED) && 2 * days_between(lo, hi) > days_between(m, next_month(m))
        };
        // The month cells: from the first month wholly inside, or the first edge month read
        // by complement, to the last such month.
        let lower = match from {
            None => Some(None),
            Some(a) if a.day() == 1 => Some(Some(a)),
            Some(a) if complement(month(a)) => Some(Some(month(a))),
            // None: no month starts after `a`'s.
            Some(a) => next_month(month(a)).map(Some),
        };
        let upper = match to {
            None => None,
            Some(b) if b.day() == 1 => Some(b),
            Some(b) if complement(month(b)) => next_month(month(b)),
            Some(b) => Some(month(b)),
        };
        if let Some(lower) = lower {
            c.months = DateRange::new(lower, upper);
        }
        // The day cells of the edge months (one month when both bounds are in it).
        let first = from.filter(|a| a.day() != 1).map(month);
        let last = to.filter(|b| b.day() != 1).map(month);
        let edges = [first, last.filter(|l| Some(*l) != first)];
        let mut parts = Vec::with_capacity(2);
        for m in edges.into_iter().flatten() {
            let (lo, hi) = inside(m);
            if complement(m) {
                if lo > m {
                    parts.push(DayPart {
                        range: DateRange::new(Some(m), Some(lo)),
                        sign: -1,
                    });
                }
                if let Some(hi) = hi.filter(|h| before(*h, next_month(m))) {
                    parts.push(DayPart {
                        range: DateRange::new(Some(hi), next_month(m)),
                        sign: -1,
                    });
                }
            } else {
                parts.push(DayPart {
                    range: DateRange::new(Some(lo), hi),
                    sign: 1,
                });
            }
        }
        // At most two: an edge month alone gives one part (its other side is the range's
        // inside), a month holding both bounds two.
        debug_assert!(parts.len() <= 2, "{parts:?}");
        for (slot, part) in c.days.iter_mut().zip(parts) {
            *slot = part;
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

/// Recomputes every cell of both tables from `leads` (the migrations' backfills; for tools
/// that load `leads` without the projection).
pub async fn rebuild(conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    for table in ["funnel_month_cells", "funnel_cells"] {
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
    sqlx::query(
        "INSERT INTO funnel_month_cells \
         SELECT tenant_id, date_trunc('month', capture_day::timestamp)::date, \
           channel, campaign, region, industry, segment, currency, \
           sum(captured)::int8, sum(mql)::int8, sum(sql)::int8, sum(poc)::int8, \
           sum(signed)::int8, sum(signed_amount_minor)::int8 \
         FROM funnel_cells GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A cell's key as bound to the statement: tenant, day or month, the six text dimensions.
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

/// A cell the upsert emptied: month table or not, and its key.
type Emptied = (
    bool,
    String,
    NaiveDate,
    String,
    String,
    String,
    String,
    String,
    String,
);

/// Moves the cells of both tables from the `old` contributions to the `new` ones, in one
/// statement.
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
    // The month delta is the day delta summed per month (a lead moved between two days of
    // one month nets to zero there).
    let mut months: BTreeMap<Row<'_>, [i64; 6]> = BTreeMap::new();
    for ((tenant, day, text), d) in &days {
        let m = months.entry((tenant, month(*day), *text)).or_default();
        for (slot, x) in m.iter_mut().zip(d) {
            *slot += x;
        }
    }
    months.retain(|_, d| d.iter().any(|x| *x != 0));
    let (d, m) = (Columns::of(&days), Columns::of(&months));
    // Both upserts in one statement (one round trip per batch), returning the keys of the
    // cells they emptied: `captured` counts every lead of a cell, zero means the cell is
    // empty. Rows are upserted in key order (the BTreeMaps' order) so two projector
    // instances moving the same cells lock them in the same order; and across the tables,
    // the day CTE is read first by the outer UNION ALL (run branch after branch), so every
    // instance finishes its day rows before it locks month rows.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH d AS ({}), m AS ({}) \
             SELECT false, tenant_id, capture_day, channel, campaign, region, industry, \
               segment, currency FROM d WHERE captured = 0 \
             UNION ALL \
             SELECT true, tenant_id, capture_month, channel, campaign, region, industry, \
               segment, currency FROM m WHERE captured = 0",
            upsert_sql("funnel_cells", "capture_day", 1),
            upsert_sql("funnel_month_cells", "capture_month", 15),
        )
    });
    let mut q = sqlx::query_as::<_, Emptied>(SQL.as_str());
    for c in [&d, &m] {
        q = q.bind(&c.tenant).bind(&c.date);
        for col in &c.text {
            q = q.bind(col);
        }
        for col in &c.counts {
            q = q.bind(col);
        }
    }
    let emptied = q.fetch_all(&mut **tx).await?;
    if emptied.is_empty() {
        // Most batches empty no cell.
        return Ok(());
    }
    // Deleting the emptied cells keeps each table equal, row for row, to its aggregate (of
    // `leads`, of the day cells by month). By key, in key order: this transaction already
    // holds these rows' locks (it just updated them), so the DELETEs wait for no one.
    let mut keys: [BTreeSet<(String, NaiveDate, [String; 6])>; 2] = Default::default();
    for (is_month, tenant, date, ch, ca, re, ind, seg, cur) in emptied {
        keys[usize::from(is_month)].insert((tenant, date, [ch, ca, re, ind, seg, cur]));
    }
    for ((table, date_col), keys) in [
        ("funnel_cells", "capture_day"),
        ("funnel_month_cells", "capture_month"),
    ]
    .into_iter()
    .zip(keys)
    {
        if keys.is_empty() {
            continue;
        }
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
    }
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

    fn add(from: NaiveDate, to: NaiveDate) -> DayPart {
        DayPart {
            range: r(Some(from), Some(to)),
            sign: 1,
        }
    }

    fn sub(from: NaiveDate, to: NaiveDate) -> DayPart {
        DayPart {
            range: r(Some(from), Some(to)),
            sign: -1,
        }
    }

    fn within(r: &DateRange, x: NaiveDate) -> bool {
        r.from.is_none_or(|a| x >= a) && r.to.is_none_or(|b| x < b)
    }

    /// How many times the funnel query counts day `x`'s cells under `c`: its month cell if
    /// its month is in `c.months`, plus the signs of the day ranges holding it; the query
    /// reads 1970-01-01 (day or month) only when `c.not_captured`.
    fn weight(c: &CellRanges, x: NaiveDate) -> i64 {
        let read = |day: NaiveDate| c.not_captured || day != NOT_CAPTURED;
        i64::from(within(&c.months, month(x)) && read(month(x)))
            + c.days
                .iter()
                .filter(|p| within(&p.range, x) && read(x))
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
    fn no_bounds_read_every_month_cell_with_the_not_captured_one() {
        let c = CellRanges::split(None, None);
        assert_eq!(
            c,
            CellRanges {
                months: DateRange::ALL,
                days: [DayPart::NONE; 2],
                not_captured: true
            }
        );
    }

    #[test]
    fn one_bound_reads_the_nearer_side_of_its_month_from_the_day_cells() {
        // From the 15th of a 30-day month: 16 days in, 14 out: the month minus the 14.
        let c = CellRanges::split(Some(d(2026, 4, 15)), None);
        assert_eq!(c.months, r(Some(d(2026, 4, 1)), None));
        assert_eq!(c.days, [sub(d(2026, 4, 1), d(2026, 4, 15)), DayPart::NONE]);
        assert!(!c.not_captured);
        // From the 17th: 14 days in: those days.
        let c = CellRanges::split(Some(d(2026, 4, 17)), None);
        assert_eq!(c.months, r(Some(d(2026, 5, 1)), None));
        assert_eq!(c.days, [add(d(2026, 4, 17), d(2026, 5, 1)), DayPart::NONE]);
        // From the 1st: months only.
        let c = CellRanges::split(Some(d(2026, 4, 1)), None);
        assert_eq!(c.months, r(Some(d(2026, 4, 1)), None));
        assert_eq!(c.days, [DayPart::NONE; 2]);

        // Up to the 10th: 9 days in.
        let c = CellRanges::split(None, Some(d(2026, 6, 10)));
        assert_eq!(c.months, r(None, Some(d(2026, 6, 1))));
        assert_eq!(c.days, [add(d(2026, 6, 1), d(2026, 6, 10)), DayPart::NONE]);
        assert!(!c.not_captured);
        // Up to the 20th: 19 days in, 11 out.
        let c = CellRanges::split(None, Some(d(2026, 6, 20)));
        assert_eq!(c.months, r(None, Some(d(2026, 7, 1))));
        assert_eq!(c.days, [sub(d(2026, 6, 20), d(2026, 7, 1)), DayPart::NONE]);
        // Up to the 1st: months only.
        let c = CellRanges::split(None, Some(d(2026, 6, 1)));
        assert_eq!(c.months, r(None, Some(d(2026, 6, 1))));
        assert_eq!(c.days, [DayPart::NONE; 2]);
    }

    #[test]
    fn two_bounds_read_each_edge_month_by_its_smaller_side() {
        // Start edge by complement (16 of 30 days in), end edge by its days (9 of 30).
        let c = CellRanges::split(Some(d(2026, 4, 15)), Some(d(2026, 6, 10)));
        assert_eq!(c.months, r(Some(d(2026, 4, 1)), Some(d(2026, 6, 1))));
        assert_eq!(
            c.days,
            [
                sub(d(2026, 4, 1), d(2026, 4, 15)),
                add(d(2026, 6, 1), d(2026, 6, 10))
            ]
        );
        assert!(!c.not_captured);
        // Start edge by its days (14 of 30), end edge by complement (19 of 30).
        let c = CellRanges::split(Some(d(2026, 4, 17)), Some(d(2026, 6, 20)));
        assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 7, 1))));
        assert_eq!(
            c.days,
            [
                add(d(2026, 4, 17), d(2026, 5, 1)),
                sub(d(2026, 6, 20), d(2026, 7, 1))
            ]
        );
        // Both by complement: the 2nd of a month to the 30th of the next.
        let c = CellRanges::split(Some(d(2026, 5, 2)), Some(d(2026, 6, 30)));
        assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 7, 1))));
        assert_eq!(
            c.days,
            [
                sub(d(2026, 5, 1), d(2026, 5, 2)),
                sub(d(2026, 6, 30), d(2026, 7, 1))
            ]
        );
        // The 30 days of a 31-day month from its 1st: the month minus its last day.
        let c = CellRanges::split(Some(d(2026, 5, 1)), Some(d(2026, 5, 31)));
        assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 6, 1))));
        assert_eq!(c.days, [sub(d(2026, 5, 31), d(2026, 6, 1)), DayPart::NONE]);
        // Both bounds inside one month, most of it in: the month minus both ends.
        let c = CellRanges::split(Some(d(2026, 5, 3)), Some(d(2026, 5, 20)));
        assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 6, 1))));
        assert_eq!(
            c.days,
            [
                sub(d(2026, 5, 1), d(2026, 5, 3)),
                sub(d(2026, 5, 20), d(2026, 6, 1))
            ]
        );
        // Exactly one month; a quarter on month starts.
        let c = CellRanges::split(Some(d(2026, 5, 1)), Some(d(2026, 6, 1)));
        assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 6, 1))));
        assert_eq!(c.days, [DayPart::NONE; 2]);
        let c = CellRanges::split(Some(d(2026, 4, 1)), Some(d(2026, 7, 1)));
        assert_eq!(c.months, r(Some(d(2026, 4, 1)), Some(d(2026, 7, 1))));
        assert_eq!(c.days, [DayPart::NONE; 2]);
        // Across the new year.
        let c = CellRanges::split(Some(d(2025, 12, 20)), Some(d(2026, 2, 3)));
        assert_eq!(c.months, r(Some(d(2026, 1, 1)), Some(d(2026, 2, 1))));
        assert_eq!(
            c.days,
            [
                add(d(2025, 12, 20), d(2026, 1, 1)),
                add(d(2026, 2, 1), d(2026, 2, 3))
            ]
        );
        let c = CellRanges::split(Some(d(2025, 12, 2)), Some(d(2026, 1, 31)));
        assert_eq!(c.months, r(Some(d(2025, 12, 1)), Some(d(2026, 2, 1))));
        assert_eq!(
            c.days,
            [
                sub(d(2025, 12, 1), d(2025, 12, 2)),
                sub(d(2026, 1, 31), d(2026, 2, 1))
            ]
        );
    }

    #[test]
    fn half_a_month_or_less_is_read_from_its_day_cells() {
        for (from, to) in [
            (d(2026, 5, 10), d(2026, 5, 20)), // inside one month
            (d(2026, 4, 16), d(2026, 5, 1)),  // half a 30-day month: not more than half
            (d(2026, 5, 1), d(2026, 5, 16)),  // from the 1st, 15 of 31
        ] {
            let c = CellRanges::split(Some(from), Some(to));
            assert_eq!(c.months, DateRange::EMPTY, "{from}..{to}");
            assert_eq!(c.days, [add(from, to), DayPart::NONE], "{from}..{to}");
        }
        // Two partial months, one range each (also across the new year).
        let c = CellRanges::split(Some(d(2026, 4, 20)), Some(d(2026, 5, 10)));
        assert_eq!(c.months, DateRange::EMPTY);
        assert_eq!(
            c.days,
            [
                add(d(2026, 4, 20), d(2026, 5, 1)),
                add(d(2026, 5, 1), d(2026, 5, 10))
            ]
        );
        let c = CellRanges::split(Some(d(2025, 12, 25)), Some(d(2026, 1, 5)));
        assert_eq!(c.months, DateRange::EMPTY);
        assert_eq!(
            c.days,
            [
                add(d(2025, 12, 25), d(2026, 1, 1)),
                add(d(2026, 1, 1), d(2026, 1, 5))
            ]
        );
        // Empty and reversed ranges read nothing.
        for (from, to) in [
            (d(2026, 5, 3), d(2026, 5, 3)),
            (d(2026, 7, 3), d(2026, 5, 3)),
        ] {
            let c = CellRanges::split(Some(from), Some(to));
            assert_eq!((c.months, c.days), (DateRange::EMPTY, [DayPart::NONE; 2]));
        }
        // The last representable month: no month starts after it.
        let c = CellRanges::split(Some(NaiveDate::MAX), None);
        assert_eq!(c.months, DateRange::EMPTY);
        assert_eq!(
            c.days,
            [
                DayPart {
                    range: r(Some(NaiveDate::MAX), None),
                    sign: 1
                },
                DayPart::NONE
            ]
        );
        let dec2 = month(NaiveDate::MAX).succ_opt().unwrap();
        let c = CellRanges::split(Some(dec2), None);
        assert_eq!(c.months, r(Some(month(NaiveDate::MAX)), None));
        assert_eq!(c.days, [sub(month(NaiveDate::MAX), dec2), DayPart::NONE]);
    }

    /// For every pair of bounds (none, or any day of a span across a new year), the month
    /// and day cells summed with their signs count each day of `[from, to)` once and no
    /// other day; each day range lies in one edge month, and an edge month reads at most
    /// half its days (rounded up) from the day cells.
    #[test]
    fn every_split_counts_each_day_of_the_range_once() {
        let span = |a: NaiveDate, b: NaiveDate| a.iter_days().take_while(move |x| *x < b);
        let bounds: Vec<Option<NaiveDate>> = [None]
            .into_iter()
            .chain(span(d(2025, 11, 1), d(2026, 3, 6)).map(Some))
            .collect();
        let (mut complemented, mut pairs) = (0, 0);
        for &from in &bounds {
            for &to in &bounds {
                let c = CellRanges::split(from, to);
                for b in [c.months.from, c.months.to].into_iter().flatten() {
                    assert_eq!(b.day(), 1, "month range of {c:?}");
                }
                let mut read: BTreeMap<NaiveDate, i64> = BTreeMap::new();
                for p in c.days.iter().filter(|p| p.range != DateRange::EMPTY) {
                    let (Some(a), Some(b)) = (p.range.from, p.range.to) else {
                        panic!("unbounded day range in {c:?}");
                    };
                    assert!(a < b && month(a) == month(b.pred_opt().unwrap()), "{c:?}");
                    *read.entry(month(a)).or_default() += (b - a).num_days();
                    complemented += usize::from(p.sign < 0);
                }
                for (m, n) in read {
                    let len = days_between(m, next_month(m));
                    assert!(n <= (len + 1) / 2, "{n} days of {m} read by {c:?}");
                }
                for x in span(d(2025, 10, 1), d(2026, 4, 30)) {
                    let want = from.is_none_or(|a| x >= a) && to.is_none_or(|b| x < b);
                    assert_eq!(
                        weight(&c, x),
                        i64::from(want),
                        "{x} in [{from:?}, {to:?}): {c:?}"
                    );
                }
                pairs += 1;
            }
        }
        assert!(complemented > pairs / 4, "{complemented} of {pairs}");
    }

    /// The not-captured cell (1970-01-01, its month 1970-01) is read without bounds only,
    /// and its month is never read by complement (its other days hold no cells: no capture
    /// precedes 2000).
    #[test]
    fn the_not_captured_cell_is_read_without_bounds_only() {
        let bounds = [
            None,
            Some(d(1969, 12, 1)),
            Some(d(1969, 12, 31)),
            Some(NOT_CAPTURED),
            Some(d(1970, 1, 2)),
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
                for p in &c.days {
                    assert!(
                        p.sign > 0 || p.range.from.map(month) != Some(month(NOT_CAPTURED)),
                        "{c:?}"
                    );
                }
            }
        }
    }
}
