//! `stage_visits` and `stage_transitions` of the leads whose stages changed.

use chrono::{DateTime, Utc};
use leadledger_projection::StageRows;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::columns::column_arrays;
use crate::StoreError;

const DELETE_VISITS: &str = include_str!("sql/delete_stage_visits.sql");
const DELETE_TRANSITIONS: &str = include_str!("sql/delete_stage_transitions.sql");
const INSERT_VISITS: &str = include_str!("sql/insert_stage_visits.sql");
const INSERT_TRANSITIONS: &str = include_str!("sql/insert_stage_transitions.sql");

column_arrays! {
    struct Visits<'a> {
        tenant: &'a str,
        lead: &'a str,
        seq: i32,
        stage: &'a str,
        entered: DateTime<Utc>,
        exited: Option<DateTime<Utc>>,
    }
}

column_arrays! {
    struct Transitions<'a> {
        tenant: &'a str,
        lead: &'a str,
        seq: i32,
        from: Option<&'a str>,
        to: &'a str,
        at: DateTime<Utc>,
        event_id: Uuid,
        kind: &'a str,
        skipped: String,
        reason_code: Option<&'a str>,
        reason_text: Option<&'a str>,
        exit_rep: Option<&'a str>,
        exit_team: Option<&'a str>,
        reached_stage: Option<&'a str>,
    }
}

/// Replaces the stage rows of the leads in `stages`.
pub async fn replace(
    tx: &mut Transaction<'static, Postgres>,
    stages: &[StageRows],
) -> Result<(), StoreError> {
    let (stale_tenants, stale_leads): (Vec<&str>, Vec<&str>) = stages
        .iter()
        .filter(|s| s.replace)
        .map(|s| (s.tenant.as_str(), s.lead.as_str()))
        .unzip();
    if !stale_leads.is_empty() {
        for delete in [DELETE_VISITS, DELETE_TRANSITIONS] {
            sqlx::query(delete)
                .bind(&stale_tenants)
                .bind(&stale_leads)
                .execute(&mut **tx)
                .await?;
        }
    }
    let (mut visits, mut transitions) = (Visits::default(), Transitions::default());
    for s in stages {
        for (seq, v) in s.visits.iter().enumerate() {
            visits.push(
                &s.tenant,
                &s.lead,
                seq_of(seq),
                v.stage.as_str(),
                v.entered_at,
                v.exited_at,
            );
        }
        for (seq, t) in s.transitions.iter().enumerate() {
            let skipped: Vec<&str> = t.skipped.iter().map(|s| s.as_str()).collect();
            let exit = t.exit.as_ref();
            transitions.push(
                &s.tenant,
                &s.lead,
                seq_of(seq),
                t.from.map(|s| s.as_str()),
                t.to.as_str(),
                t.at,
                t.event_id,
                t.kind.as_str(),
                skipped.join(","),
                exit.map(|x| x.code.as_str()),
                exit.map(|x| x.text.as_str()),
                exit.map(|x| x.rep_id.as_str()),
                exit.map(|x| x.team.as_str()),
                exit.and_then(|x| x.reached).map(|s| s.as_str()),
            );
        }
    }
    if !visits.is_empty() {
        visits
            .bind(sqlx::query(INSERT_VISITS))
            .execute(&mut **tx)
            .await?;
    }
    if !transitions.is_empty() {
        transitions
            .bind(sqlx::query(INSERT_TRANSITIONS))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn seq_of(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}
