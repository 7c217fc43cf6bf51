//! The pre-aggregated funnel, moved by "new − old" inside the projection transaction: per
//! day (`funnel_cells`) and per month (`funnel_month_cells`).
//!
//! Aggregating `leads` is a scan of every lead of the tenant: at 1M leads that is hundreds of
//! milliseconds per funnel query. The day cells hold the same counts per (capture day,
//! channel, campaign, region, industry, segment, signed currency); the month cells hold the
//! day cells summed per calendar month. A funnel over whole days reads the whole months of
//! its range from the month cells and only the partial months at its edges from the day
//! cells ([`CellRanges::split`]), so a quarter's funnel reads a few thousand small rows
//! instead of ~180k. Each re-folded lead takes its old contribution out of its old cells and
//! puts its new one in its new cells; sums commute, so any batching (live or a replay) gives
//! the same cells, and the month cells always equal the day cells summed by month.
//!
//! Both tables move in ONE statement per batch (each round trip in the projection
//! transaction costs freshness). Cells are updated in key order, day cells before month
//! cells, so two projector instances (different partitions, same cells) always lock rows in
//! the same order and cannot deadlock.

use std::collections::BTreeMap;
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

/// The first day of the first month that starts on or after `day` (`day` itself on a 1st);
/// `None` past the last representable month.
pub fn month_ceil(day: NaiveDate) -> Option<NaiveDate> {
    if day.day() == 1 {
        Some(day)
    } else {
        month(day).checked_add_months(Months::new(1))
    }
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

/// Which cells the funnel over captures in `[from, to)` (whole UTC days) reads: the month
/// cells of `months`, the day cells of `days` (disjoint from each other and from the months),
/// and the not-captured cell only when `not_captured` (no bound given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellRanges {
    /// Over `funnel_month_cells.capture_month` (first days of months).
    pub months: DateRange,
    /// Over `funnel_cells.capture_day`: the partial months at the edges.
    pub days: [DateRange; 2],
    pub not_captured: bool,
}

impl CellRanges {
    /// Whole months inside `[from, to)` from the month cells, the rest from the day cells.
    pub fn split(from: Option<NaiveDate>, to: Option<NaiveDate>) -> CellRanges {
        let not_captured = from.is_none() && to.is_none();
        // Months from `ceil(from)` (all of them without a lower bound; none when no month
        // starts after `from`), up to `floor(to)`.
        let m_from = from.map(month_ceil);
        let m_to = to.map(month);
        let (months, days) = match (m_from, m_to) {
            (None, None) => (DateRange::ALL, [DateRange::EMPTY; 2]),
            (Some(None), _) => (
                DateRange::EMPTY,
                [DateRange::new(from, to), DateRange::EMPTY],
            ),
            (Some(Some(ma)), None) => (
                DateRange::new(Some(ma), None),
                [DateRange::new(from, Some(ma)), DateRange::EMPTY],
            ),
            (None, Some(mb)) => (
                DateRange::new(None, Some(mb)),
                [DateRange::new(Some(mb), to), DateRange::EMPTY],
            ),
            (Some(Some(ma)), Some(mb)) if ma < mb => (
                DateRange::new(Some(ma), Some(mb)),
                [DateRange::new(from, Some(ma)), DateRange::new(Some(mb), to)],
            ),
            (Some(Some(_)), Some(_)) => (
                DateRange::EMPTY,
                [DateRange::new(from, to), DateRange::EMPTY],
            ),
        };
        CellRanges {
            months,
            days,
            not_captured,
        }
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
/// moved cell's new `captured`.
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
         RETURNING f.captured",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13]
    )
}

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
    // Both upserts in one statement (one round trip per batch). Rows are upserted in key
    // order (the BTreeMaps' order) so two projector instances moving the same cells lock
    // them in the same order; and across the tables, the day CTE is referenced first by
    // the outer SELECT, so every instance finishes its day rows before it locks month rows.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH d AS ({}), m AS ({}) \
             SELECT (SELECT count(*) FROM d WHERE captured = 0), \
               (SELECT count(*) FROM m WHERE captured = 0)",
            upsert_sql("funnel_cells", "capture_day", 1),
            upsert_sql("funnel_month_cells", "capture_month", 15),
        )
    });
    let mut q = sqlx::query_as::<_, (i64, i64)>(SQL.as_str());
    for c in [&d, &m] {
        q = q.bind(&c.tenant).bind(&c.date);
        for col in &c.text {
            q = q.bind(col);
        }
        for col in &c.counts {
            q = q.bind(col);
        }
    }
    let (emptied_days, emptied_months) = q.fetch_one(&mut **tx).await?;
    // `captured` counts every lead of a cell: zero means the cell is empty. Deleting empty
    // cells keeps each table equal, row for row, to its aggregate (of `leads`, of the day
    // cells by month); most batches empty none and skip the statement.
    for (table, emptied) in [
        ("funnel_cells", emptied_days),
        ("funnel_month_cells", emptied_months),
    ] {
        if emptied > 0 {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE captured = 0 AND tenant_id = ANY($1)"
            ))
            .bind(&d.tenant)
            .execute(&mut **tx)
            .await?;
        }
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

    /// Every day of `[first, last]` is read exactly once (from a month cell or a day cell), and
    /// no day outside `[from, to)` is.
    fn covers_exactly(from: Option<NaiveDate>, to: Option<NaiveDate>) {
        let c = CellRanges::split(from, to);
        let within = |r: &DateRange, x: NaiveDate| {
            r.from.is_none_or(|a| x >= a) && r.to.is_none_or(|b| x < b)
        };
        for b in [c.months.from, c.months.to].into_iter().flatten() {
            assert_eq!(b.day(), 1, "month range of {c:?}");
        }
        let mut x = d(2024, 10, 1);
        while x < d(2027, 3, 1) {
            let want = from.is_none_or(|a| x >= a) && to.is_none_or(|b| x < b);
            let by_month = within(&c.months, month(x));
            let by_day = c.days.iter().filter(|r| within(r, x)).count();
            assert!(by_day <= 1, "{x} in both day ranges of {c:?}");
            assert!(!(by_month && by_day == 1), "{x} read twice from {c:?}");
            assert_eq!(
                by_month || by_day == 1,
                want,
                "{x} in [{from:?}, {to:?}): {c:?}"
            );
            x = x.succ_opt().unwrap();
        }
    }

    #[test]
    fn month_floor_and_ceil() {
        assert_eq!(month(d(2026, 4, 1)), d(2026, 4, 1));
        assert_eq!(month(d(2026, 4, 30)), d(2026, 4, 1));
        assert_eq!(month(NOT_CAPTURED), NOT_CAPTURED);
        assert_eq!(month_ceil(d(2026, 4, 1)), Some(d(2026, 4, 1)));
        assert_eq!(month_ceil(d(2026, 4, 2)), Some(d(2026, 5, 1)));
        assert_eq!(month_ceil(d(2026, 12, 31)), Some(d(2027, 1, 1)));
        assert_eq!(month_ceil(d(2028, 2, 29)), Some(d(2028, 3, 1)));
        assert_eq!(month_ceil(NaiveDate::MAX), None);
    }

    #[test]
    fn no_bounds_read_every_month_cell_with_the_not_captured_one() {
        let c = CellRanges::split(None, None);
        assert_eq!(
            c,
            CellRanges {
                months: DateRange::ALL,
                days: [DateRange::EMPTY; 2],
                not_captured: true
            }
        );
    }

    #[test]
    fn one_bound_reads_months_beyond_it_and_days_up_to_its_month_edge() {
        let c = CellRanges::split(Some(d(2026, 4, 15)), None);
        assert_eq!(c.months, r(Some(d(2026, 5, 1)), None));
        assert_eq!(
            c.days,
            [
                r(Some(d(2026, 4, 15)), Some(d(2026, 5, 1))),
                DateRange::EMPTY
            ]
        );
        assert!(!c.not_captured);
        // From the 1st: months only.
        let c = CellRanges::split(Some(d(2026, 4, 1)), None);
        assert_eq!(c.months, r(Some(d(2026, 4, 1)), None));
        assert_eq!(c.days, [DateRange::EMPTY; 2]);

        let c = CellRanges::split(None, Some(d(2026, 6, 10)));
        assert_eq!(c.months, r(None, Some(d(2026, 6, 1))));
        assert_eq!(
            c.days,
            [
                r(Some(d(2026, 6, 1)), Some(d(2026, 6, 10))),
                DateRange::EMPTY
            ]
        );
        assert!(!c.not_captured);
        // Up to the 1st: months only.
        let c = CellRanges::split(None, Some(d(2026, 6, 1)));
        assert_eq!(c.months, r(None, Some(d(2026, 6, 1))));
        assert_eq!(c.days, [DateRange::EMPTY; 2]);
    }

    #[test]
    fn two_bounds_read_the_months_between_and_days_at_both_edges() {
        let c = CellRanges::split(Some(d(2026, 4, 15)), Some(d(2026, 6, 10)));
        assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 6, 1))));
        assert_eq!(
            c.days,
            [
                r(Some(d(2026, 4, 15)), Some(d(2026, 5, 1))),
                r(Some(d(2026, 6, 1)), Some(d(2026, 6, 10)))
            ]
        );
        assert!(!c.not_captured);
        // Exactly one month; a quarter on month starts.
        let c = CellRanges::split(Some(d(2026, 5, 1)), Some(d(2026, 6, 1)));
        assert_eq!(c.months, r(Some(d(2026, 5, 1)), Some(d(2026, 6, 1))));
        assert_eq!(c.days, [DateRange::EMPTY; 2]);
        let c = CellRanges::split(Some(d(2026, 4, 1)), Some(d(2026, 7, 1)));
        assert_eq!(c.months, r(Some(d(2026, 4, 1)), Some(d(2026, 7, 1))));
        assert_eq!(c.days, [DateRange::EMPTY; 2]);
        // Across the new year.
        let c = CellRanges::split(Some(d(2025, 12, 20)), Some(d(2026, 2, 3)));
        assert_eq!(c.months, r(Some(d(2026, 1, 1)), Some(d(2026, 2, 1))));
        assert_eq!(
            c.days,
            [
                r(Some(d(2025, 12, 20)), Some(d(2026, 1, 1))),
                r(Some(d(2026, 2, 1)), Some(d(2026, 2, 3)))
            ]
        );
    }

    #[test]
    fn bounds_without_a_whole_month_between_read_days_only() {
        for (from, to) in [
            (d(2026, 5, 3), d(2026, 5, 20)),   // inside one month
            (d(2026, 5, 1), d(2026, 5, 20)),   // from the 1st
            (d(2026, 5, 3), d(2026, 6, 1)),    // to the 1st
            (d(2026, 4, 20), d(2026, 5, 10)),  // two partial months
            (d(2025, 12, 20), d(2026, 1, 10)), // across the new year
        ] {
            let c = CellRanges::split(Some(from), Some(to));
            assert_eq!(c.months, DateRange::EMPTY, "{from}..{to}");
            assert_eq!(
                c.days,
                [r(Some(from), Some(to)), DateRange::EMPTY],
                "{from}..{to}"
            );
        }
        // Empty and reversed ranges read nothing.
        for (from, to) in [
            (d(2026, 5, 3), d(2026, 5, 3)),
            (d(2026, 7, 3), d(2026, 5, 3)),
        ] {
            let c = CellRanges::split(Some(from), Some(to));
            assert_eq!(
                (c.months, c.days),
                (DateRange::EMPTY, [DateRange::EMPTY; 2])
            );
        }
        // No month starts after the last day: days only.
        let c = CellRanges::split(Some(NaiveDate::MAX), None);
        assert_eq!(c.months, DateRange::EMPTY);
        assert_eq!(c.days, [r(Some(NaiveDate::MAX), None), DateRange::EMPTY]);
    }

    #[test]
    fn every_split_reads_each_day_of_the_range_once() {
        let days = [
            None,
            Some(d(2025, 11, 30)),
            Some(d(2025, 12, 1)),
            Some(d(2025, 12, 31)),
            Some(d(2026, 1, 1)),
            Some(d(2026, 1, 2)),
            Some(d(2026, 2, 28)),
            Some(d(2026, 3, 1)),
            Some(d(2026, 4, 15)),
            Some(d(2026, 5, 1)),
        ];
        for from in days {
            for to in days {
                covers_exactly(from, to);
            }
        }
    }
}
