//! The `marketing_spend` rows of a batch (`leadledger_projection::spend`).

use chrono::{DateTime, NaiveDate, Utc};
use leadledger_projection::SpendRow;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::columns::column_arrays;
use crate::StoreError;

const UPSERT: &str = include_str!("sql/upsert_spend.sql");

column_arrays! {
    struct Rows<'a> {
        tenant: &'a str,
        channel: &'a str,
        campaign: &'a str,
        start: NaiveDate,
        end: NaiveDate,
        amount: i64,
        currency: &'a str,
        event: Uuid,
        recorded: DateTime<Utc>,
    }
}

/// Writes the batch's statements (one per key, in key order).
pub(super) async fn upsert(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[SpendRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut cols = Rows::default();
    for r in rows {
        cols.push(
            &r.tenant,
            &r.spend.channel,
            &r.spend.campaign,
            r.spend.period_start,
            r.spend.period_end,
            r.spend.amount_minor,
            &r.spend.currency,
            r.event_id,
            r.recorded_at,
        );
    }
    cols.bind(sqlx::query(UPSERT)).execute(&mut **tx).await?;
    Ok(())
}
