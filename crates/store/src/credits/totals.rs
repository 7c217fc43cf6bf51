//! The additive totals (`attribution_totals`, `attribution_period_totals`), moved by
//! "new − old" of every changed lead.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use leadledger_attribution::precompute::Totals;
use sqlx::{Acquire, PgConnection};

use crate::columns::column_arrays;
use crate::StoreError;

const ADD_PERIODS: &str = include_str!("sql/add_period_totals.sql");

/// Totals per tenant, gathered in memory by a bulk rebuild.
pub type BulkTotals = BTreeMap<String, Totals>;

column_arrays! {
    struct TotalRows<'a> {
        tenant: &'a str,
        level: &'static str,
        conversion: &'static str,
        basis: &'static str,
        dimension: &'static str,
        day: NaiveDate,
        currency: &'a str,
        value: &'a str,
        credits: String,
    }
}

column_arrays! {
    struct PeriodRows<'a> {
        tenant: &'a str,
        level: &'static str,
        conversion: &'static str,
        basis: &'static str,
        day: NaiveDate,
        currency: &'a str,
        conversions: i64,
        unattributed: i64,
        value: i64,
    }
}

/// Writes the totals a bulk rebuild gathered, in chunks (one transaction each: until the
/// credits' checkpoints are stored again, a token waits anyway).
pub async fn write_bulk_totals(
    conn: &mut PgConnection,
    models: usize,
    totals: BulkTotals,
) -> Result<(), StoreError> {
    const CHUNK: usize = 20_000;
    for (tenant, t) in totals {
        let credits: Vec<_> = t.credits.into_iter().collect();
        for part in credits.chunks(CHUNK) {
            let mut one = Totals::default();
            one.credits.extend(part.iter().cloned());
            let mut tx = conn.begin().await?;
            add_totals(&mut tx, models, BTreeMap::from([(tenant.clone(), one)])).await?;
            tx.commit().await?;
        }
        let periods: Vec<_> = t.periods.into_iter().collect();
        for part in periods.chunks(CHUNK) {
            let mut one = Totals::default();
            one.periods.extend(part.iter().cloned());
            let mut tx = conn.begin().await?;
            add_totals(&mut tx, models, BTreeMap::from([(tenant.clone(), one)])).await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Adds `totals` (changes per tenant) to the stored totals, in key order (BTreeMap), so
/// concurrent writers could not deadlock on them.
pub async fn add_totals(
    conn: &mut PgConnection,
    models: usize,
    mut totals: BTreeMap<String, Totals>,
) -> Result<(), StoreError> {
    for t in totals.values_mut() {
        t.prune();
    }
    let (mut t, mut p) = (TotalRows::default(), PeriodRows::default());
    for (tenant, tot) in &totals {
        for (k, v) in &tot.credits {
            t.push(
                tenant,
                k.level,
                k.kind.as_str(),
                k.basis.as_str(),
                k.dimension.as_str(),
                k.day,
                &k.currency,
                &k.value,
                array_literal(v),
            );
        }
        for (k, v) in &tot.periods {
            p.push(
                tenant,
                k.level,
                k.kind.as_str(),
                k.basis.as_str(),
                k.day,
                &k.currency,
                v.conversions,
                v.unattributed,
                v.value_minor,
            );
        }
    }
    if !t.is_empty() {
        t.bind(sqlx::query(&add_credits_sql(models)))
            .execute(&mut *conn)
            .await?;
    }
    if !p.is_empty() {
        p.bind(sqlx::query(ADD_PERIODS)).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The upsert adding credit arrays of `models` entries: the element-wise sum written out
/// (`ARRAY[a[1] + b[1], ...]`), far cheaper for the server than unnesting both arrays per
/// conflicting row; so the statement depends on the model count (dynamic SQL, built here).
fn add_credits_sql(models: usize) -> String {
    let add = (1..=models)
        .map(|i| format!("attribution_totals.credits[{i}] + EXCLUDED.credits[{i}]"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO attribution_totals (tenant_id, level, conversion, basis, dimension, \
           day, currency, value, credits) \
         SELECT t, l, c, b, d, y, cu, v, cr::int8[] \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
           $6::date[], $7::text[], $8::text[], $9::text[]) \
           AS r(t, l, c, b, d, y, cu, v, cr) \
         ON CONFLICT (tenant_id, level, conversion, basis, dimension, day, currency, value) \
         DO UPDATE SET credits = ARRAY[{add}]",
    )
}

/// `{1,2,3}`: arrays of arrays must be rectangular in PostgreSQL, so per-row arrays travel
/// as literals and are cast back.
pub(super) fn array_literal(v: &[i64]) -> String {
    let parts: Vec<String> = v.iter().map(i64::to_string).collect();
    format!("{{{}}}", parts.join(","))
}
