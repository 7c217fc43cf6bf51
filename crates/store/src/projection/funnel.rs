//! The funnel cells a batch moves, per day (`funnel_cells`), per block of days
//! (`funnel_block_cells`) and per month (`funnel_month_cells`); what the cells are and how a
//! batch moves them is `leadledger_projection::funnel`.
//!
//! The three tables move in ONE statement per batch (each round trip in the projection
//! transaction costs freshness). Cells are updated in key order, day cells before block cells
//! before month cells, so two projector instances (different partitions, same cells) always
//! lock rows in the same order and cannot deadlock. The statement returns the keys of the
//! cells it emptied (`captured` = 0), which are then deleted by primary key; no index reads
//! `captured`, so the upserts that change it (most of them) can be HOT updates. The
//! statements are built from the table names here, once (dynamic SQL: three tables of one
//! shape).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::NaiveDate;
use leadledger_projection::funnel::{CellDelta, CellRef, Levels};
use sqlx::{Postgres, Transaction};

use crate::StoreError;

#[cfg(feature = "testing")]
const REBUILD_DAY_CELLS: &str = include_str!("sql/rebuild_funnel_cells.sql");

/// The tables of the three levels, in the order the statement moves them (day, block,
/// month: the lock order), with their date column.
const TABLES: [(&str, &str); 3] = [
    ("funnel_cells", "capture_day"),
    ("funnel_block_cells", "capture_block"),
    ("funnel_month_cells", "capture_month"),
];

/// Recomputes every cell of the three tables from `leads` (the migrations' backfills; for
/// tools that load `leads` without the projection).
#[cfg(feature = "testing")]
pub async fn rebuild(conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    for (table, _) in TABLES.iter().rev() {
        // Dynamic SQL: the table name.
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(REBUILD_DAY_CELLS).execute(&mut *conn).await?;
    // The block and month of a day as in `block` and `month` (the cast to timestamp keeps
    // date_trunc off the session time zone). Dynamic SQL: the table and its date expression.
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
               sum(signed)::int8, sum(signed_amount_minor)::int8, \
               sum(collected_amount_minor)::int8 \
             FROM funnel_cells GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Column arrays of one UNNEST, in the order of the rows given.
#[derive(Default)]
struct Columns<'a> {
    tenant: Vec<&'a str>,
    date: Vec<NaiveDate>,
    text: [Vec<&'a str>; 6],
    counts: [Vec<i64>; 7],
}

impl<'a> Columns<'a> {
    fn of(rows: &BTreeMap<CellRef<'a>, CellDelta>) -> Self {
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

/// The upsert of one table from the UNNEST of parameters `$first..$first+14`, returning each
/// moved cell's key and new `captured`.
fn upsert_sql(table: &str, date_col: &str, first: usize) -> String {
    // Dynamic SQL: the table, its date column and the parameter numbers.
    let p: Vec<String> = (first..first + PARAMS).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO {table} AS f \
         SELECT t, dt, ch, ca, re, ind, seg, cur, c, m, s, p, w, a, col \
         FROM UNNEST({}::text[], {}::date[], {}::text[], {}::text[], {}::text[], {}::text[], \
           {}::text[], {}::text[], {}::int8[], {}::int8[], {}::int8[], {}::int8[], \
           {}::int8[], {}::int8[], {}::int8[]) WITH ORDINALITY \
           AS d(t, dt, ch, ca, re, ind, seg, cur, c, m, s, p, w, a, col, ord) \
         ORDER BY ord \
         ON CONFLICT (tenant_id, {date_col}, channel, campaign, region, industry, segment, \
           currency) DO UPDATE SET \
           captured = f.captured + EXCLUDED.captured, mql = f.mql + EXCLUDED.mql, \
           sql = f.sql + EXCLUDED.sql, poc = f.poc + EXCLUDED.poc, \
           signed = f.signed + EXCLUDED.signed, \
           signed_amount_minor = f.signed_amount_minor + EXCLUDED.signed_amount_minor, \
           collected_amount_minor = f.collected_amount_minor + EXCLUDED.collected_amount_minor \
         RETURNING f.tenant_id, f.{date_col}, f.channel, f.campaign, f.region, f.industry, \
           f.segment, f.currency, f.captured",
        p[0],
        p[1],
        p[2],
        p[3],
        p[4],
        p[5],
        p[6],
        p[7],
        p[8],
        p[9],
        p[10],
        p[11],
        p[12],
        p[13],
        p[14]
    )
}

/// Parameters of one table's upsert: the key's eight columns and the seven counts.
const PARAMS: usize = 15;

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

/// The statement moving the three tables: one upsert CTE per table (parameters 1–15 the
/// day cells, 16–30 the block cells, 31–45 the month cells), returning the keys of the cells
/// they emptied. The outer UNION ALL reads the CTEs in [`TABLES`] order (branch after
/// branch), so every instance finishes its day rows before it locks block rows, and those
/// before month rows.
static APPLY_SQL: LazyLock<String> = LazyLock::new(|| {
    // Dynamic SQL: built from the tables' upserts.
    let ctes: Vec<String> = TABLES
        .iter()
        .enumerate()
        .map(|(i, (table, col))| format!("u{i} AS ({})", upsert_sql(table, col, 1 + PARAMS * i)))
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

/// Moves the cells of the three tables by a batch's deltas, in one statement.
pub(super) async fn apply(
    tx: &mut Transaction<'static, Postgres>,
    levels: &Levels<'_>,
) -> Result<(), StoreError> {
    if levels[0].is_empty() {
        // No day cell moves, so no block or month cell does.
        return Ok(());
    }
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
    tx: &mut Transaction<'static, Postgres>,
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
    // Dynamic SQL: the table and its date column.
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
