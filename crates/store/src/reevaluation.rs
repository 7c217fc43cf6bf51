//! Every lead's SLA clocks evaluated again after the policies changed (docs/SLA.md,
//! "Changing the policy file"): the pass's state, and one step of it in one transaction.
//!
//! A step locks the next leads in key order (`FOR UPDATE`, like the projector's upsert, which
//! locks in the same order), reads their timelines and granted ownership requests, and
//! replaces their `sla_clocks` rows with what the caller computed, moving the pass's position
//! in the same transaction. So a step is all or nothing, a restart resumes after the last
//! committed step, and a projector applying a lead at the same time either waits for the step
//! or makes it wait, and the last writer wrote from the newer timeline.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use leadledger_projection::{ClockRow, Logged};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::StoreError;

const STATE: &str = include_str!("sql/reevaluation_state.sql");
const START: &str = include_str!("sql/reevaluation_start.sql");
const NEXT: &str = include_str!("sql/reevaluation_next.sql");
const ADVANCE: &str = include_str!("sql/reevaluation_advance.sql");
const FINISH: &str = include_str!("sql/reevaluation_finish.sql");

/// Where the re-evaluation stands.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct State {
    /// Every clock was evaluated with the policies of this fingerprint ("": unknown).
    pub done_fingerprint: String,
    /// The pass in progress (or the last one).
    pub pass_fingerprint: String,
    pub after_tenant: String,
    pub after_lead: String,
    pub leads_done: i64,
    pub leads_total: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub async fn state(pool: &PgPool) -> Result<State, StoreError> {
    Ok(sqlx::query_as(STATE).fetch_one(pool).await?)
}

/// Starts a pass with `fingerprint` from the first lead.
pub async fn start(pool: &PgPool, fingerprint: &str) -> Result<(), StoreError> {
    sqlx::query(START).bind(fingerprint).execute(pool).await?;
    Ok(())
}

/// One step: the leads it locked, their timelines and granted requests; the caller computes
/// the clocks and hands them to [`Step::write`].
pub struct Step {
    tx: Transaction<'static, Postgres>,
    /// `(tenant, lead)` in key order.
    pub leads: Vec<(String, String)>,
    pub timelines: Vec<Logged>,
    pub granted: HashSet<Uuid>,
}

impl Step {
    /// Locks the next `limit` leads after `after` and reads them; `None` when none is left.
    pub async fn next(
        pool: &PgPool,
        after: (&str, &str),
        limit: i64,
    ) -> Result<Option<Step>, StoreError> {
        let mut tx = pool.begin().await?;
        let leads: Vec<(String, String)> = sqlx::query_as(NEXT)
            .bind(after.0)
            .bind(after.1)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        if leads.is_empty() {
            return Ok(None);
        }
        let (tenants, ids): (Vec<&str>, Vec<&str>) =
            leads.iter().map(|(t, l)| (t.as_str(), l.as_str())).unzip();
        // A survivor's clocks run over its merged leads' facts too.
        let timelines = crate::timeline::of_groups(&mut tx, &tenants, &ids).await?;
        let granted = crate::projection::decisions::granted(&mut tx, &tenants, &ids).await?;
        Ok(Some(Step {
            tx,
            leads,
            timelines,
            granted,
        }))
    }

    /// Replaces the locked leads' clocks with `clocks` (`(tenant, lead, row)`), moves the
    /// pass of `fingerprint` past them, and commits.
    pub async fn write(
        mut self,
        fingerprint: &str,
        clocks: &[(String, String, ClockRow)],
    ) -> Result<(), StoreError> {
        let (tenants, ids): (Vec<&str>, Vec<&str>) = self
            .leads
            .iter()
            .map(|(t, l)| (t.as_str(), l.as_str()))
            .unzip();
        crate::projection::clocks::replace(&mut self.tx, &tenants, &ids, clocks).await?;
        let (last_t, last_l) = self.leads.last().cloned().unwrap_or_default();
        sqlx::query(ADVANCE)
            .bind(fingerprint)
            .bind(last_t)
            .bind(last_l)
            .bind(i64::try_from(self.leads.len()).unwrap_or(i64::MAX))
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// The pass of `fingerprint` is over: every clock is evaluated with it.
pub async fn finish(pool: &PgPool, fingerprint: &str) -> Result<(), StoreError> {
    sqlx::query(FINISH).bind(fingerprint).execute(pool).await?;
    Ok(())
}
