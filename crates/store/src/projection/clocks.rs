//! `sla_clocks`: every re-folded lead's clocks, replaced.

use chrono::{DateTime, Utc};
use leadledger_projection::ClockRow;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::columns::column_arrays;
use crate::StoreError;

const DELETE: &str = include_str!("sql/delete_clocks.sql");
const INSERT: &str = include_str!("sql/insert_clocks.sql");

column_arrays! {
    /// `sla_clocks` rows.
    struct ClockRows<'a> {
        tenant: &'a str,
        lead: &'a str,
        policy: &'a str,
        start_id: Uuid,
        version: i32,
        started: DateTime<Utc>,
        at_risk: DateTime<Utc>,
        due: DateTime<Utc>,
        status: &'a str,
        ended: Option<DateTime<Utc>>,
        end_id: Option<Uuid>,
        end_recorded: Option<DateTime<Utc>>,
        stop_reason: &'a str,
        breached: Option<DateTime<Utc>>,
        at_risk_id: Uuid,
        breach_id: Uuid,
        at_risk_alerted: bool,
        breach_alerted: bool,
        paused: Option<DateTime<Utc>>,
        pauses: Option<String>,
        escalation_step: Option<&'a str>,
        escalation_at: Option<DateTime<Utc>>,
    }
}

/// Pauses as the text of a PostgreSQL `tstzrange[]`; `None` for none.
fn ranges(pauses: &[(DateTime<Utc>, DateTime<Utc>)]) -> Option<String> {
    if pauses.is_empty() {
        return None;
    }
    let fmt = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let items: Vec<String> = pauses
        .iter()
        .map(|(from, to)| format!("\"[{},{})\"", fmt(from), fmt(to)))
        .collect();
    Some(format!("{{{}}}", items.join(",")))
}

/// Replaces the clocks of the leads `(tenants[i], leads[i])` with `clocks`.
pub async fn replace(
    tx: &mut Transaction<'static, Postgres>,
    tenants: &[&str],
    leads: &[&str],
    clocks: &[(String, String, ClockRow)],
) -> Result<(), StoreError> {
    if !leads.is_empty() {
        sqlx::query(DELETE)
            .bind(tenants)
            .bind(leads)
            .execute(&mut **tx)
            .await?;
    }
    if clocks.is_empty() {
        return Ok(());
    }
    let mut rows = ClockRows::default();
    for (tenant, lead, c) in clocks {
        rows.push(
            tenant,
            lead,
            &c.policy_id,
            c.start_event_id,
            i32::try_from(c.policy_version).unwrap_or(i32::MAX),
            c.started_at,
            c.at_risk_at,
            c.due_at,
            c.status,
            c.ended_at,
            c.end_event_id,
            c.end_recorded_at,
            c.stop_reason,
            c.breached_at,
            c.at_risk_event_id,
            c.breach_event_id,
            c.at_risk_alerted,
            c.breach_alerted,
            c.paused_at,
            ranges(&c.pauses),
            c.escalation_step.as_deref(),
            c.escalation_at,
        );
    }
    rows.bind(sqlx::query(INSERT)).execute(&mut **tx).await?;
    Ok(())
}
