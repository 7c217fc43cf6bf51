//! Every stay of a tenant's leads, streamed lead by lead: the rows the measures computed on
//! request (`leadledger_analytics`: velocity, cohorts) take, one lead at a time, so a whole
//! tenant never sits in memory as rows (docs/ANALYTICS.md).

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use leadledger_analytics::cohorts::Period;
use leadledger_analytics::{LeadStays, Owner, Stay};
use leadledger_domain::{Cut, Event, LeadState, Stage};
use sqlx::PgPool;

use crate::cut;
use crate::leads::Dimension;
use crate::StoreError;

const STAYS: &str = include_str!("sql/stays.sql");

/// What a measure over leads groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadDimension {
    /// A dimension of the funnel, keyed exactly as `Funnel` keys it.
    Funnel(Dimension),
    /// ISO 8601 week `YYYY-Www` (UTC), `""` with no capture.
    CaptureWeek,
    /// The current owner rep.
    OwnerRep,
    /// The current owner team.
    OwnerTeam,
}

impl LeadDimension {
    /// The key element over `leads` (fixed strings, never user input).
    fn sql(self) -> &'static str {
        match self {
            LeadDimension::Funnel(d) => d.sql(),
            LeadDimension::CaptureWeek => {
                "coalesce(to_char(captured_at AT TIME ZONE 'UTC', 'IYYY-\"W\"IW'), '')"
            }
            LeadDimension::OwnerRep => "owner_rep_id",
            LeadDimension::OwnerTeam => "owner_team",
        }
    }
}

impl LeadDimension {
    /// The key element of a folded lead, as [`LeadDimension::sql`] over its row.
    fn of_state(self, st: &LeadState) -> String {
        match self {
            LeadDimension::Funnel(d) => d.of_state(st),
            LeadDimension::CaptureWeek => st
                .captured_at
                .map(|t| Period::Week.name(t))
                .unwrap_or_default(),
            LeadDimension::OwnerRep => st.owner.rep_id.clone(),
            LeadDimension::OwnerTeam => st.owner.team.clone(),
        }
    }
}

/// Which leads, and their group key.
#[derive(Debug, Clone, Default)]
pub struct StaysQuery {
    pub group_by: Vec<LeadDimension>,
    pub captured_from: Option<DateTime<Utc>>,
    pub captured_to: Option<DateTime<Utc>>,
    /// The leads as this cut of the log folds them (owner and stays as they were); the
    /// read models when live.
    pub cut: Cut,
}

#[derive(sqlx::FromRow)]
struct Row {
    lead_id: String,
    key: Vec<String>,
    captured_at: Option<DateTime<Utc>>,
    owner_rep_id: String,
    owner_team: String,
    owner_queue: String,
    owner_partner_id: String,
    stage: String,
    entered_at: DateTime<Utc>,
    exited_at: Option<DateTime<Utc>>,
}

impl Row {
    fn lead(self) -> LeadStays {
        LeadStays {
            lead_id: self.lead_id,
            key: self.key,
            captured_at: self.captured_at,
            owner: Owner {
                rep_id: self.owner_rep_id,
                team: self.owner_team,
                queue: self.owner_queue,
                partner_id: self.owner_partner_id,
            },
            stays: Vec::new(),
        }
    }
}

/// Calls `each` with every lead of `tenant` that `q` selects and has a stay, in lead id
/// order, each with all its stays in order.
pub async fn for_each_lead(
    pool: &PgPool,
    tenant: &str,
    q: &StaysQuery,
    mut each: impl FnMut(LeadStays),
) -> Result<(), StoreError> {
    if !q.cut.is_live() {
        return at_cut(pool, tenant, q, each).await;
    }
    let key: Vec<&str> = q.group_by.iter().map(|d| d.sql()).collect();
    let sql = STAYS.replace("/*KEY*/", &format!("ARRAY[{}]::text[]", key.join(", ")));
    let mut rows = sqlx::query_as::<_, Row>(&sql)
        .bind(tenant)
        .bind(q.captured_from)
        .bind(q.captured_to)
        .fetch(pool);
    let mut current: Option<LeadStays> = None;
    while let Some(row) = rows.try_next().await? {
        let stay = Stay {
            stage: Stage::parse(&row.stage).ok_or_else(|| {
                StoreError::Corrupt(format!("stage_visits holds an unknown stage {}", row.stage))
            })?,
            entered_at: row.entered_at,
            exited_at: row.exited_at,
        };
        if current.as_ref().is_none_or(|l| l.lead_id != row.lead_id) {
            if let Some(done) = current.take() {
                each(done);
            }
            current = Some(row.lead());
        }
        current.as_mut().expect("set above").stays.push(stay);
    }
    if let Some(done) = current {
        each(done);
    }
    Ok(())
}

/// [`for_each_lead`] at a cut: each lead folded from the events the cut admits.
async fn at_cut(
    pool: &PgPool,
    tenant: &str,
    q: &StaysQuery,
    mut each: impl FnMut(LeadStays),
) -> Result<(), StoreError> {
    let (from, to) = (q.captured_from, q.captured_to);
    let add = |lead: &str, st: LeadState, _: &[Event]| {
        if st.visits.is_empty() || !cut::in_window(st.captured_at, from, to) {
            return;
        }
        each(LeadStays {
            lead_id: lead.to_string(),
            key: q.group_by.iter().map(|d| d.of_state(&st)).collect(),
            captured_at: st.captured_at,
            owner: Owner {
                rep_id: st.owner.rep_id.clone(),
                team: st.owner.team.clone(),
                queue: st.owner.queue.clone(),
                partner_id: st.owner.partner_id.clone(),
            },
            stays: st
                .visits
                .iter()
                .map(|v| Stay {
                    stage: v.stage,
                    entered_at: v.entered_at,
                    exited_at: v.exited_at,
                })
                .collect(),
        });
    };
    cut::for_each_lead(
        pool,
        tenant,
        &q.cut,
        cut::Captured::window(from, to, &q.cut),
        add,
    )
    .await?;
    Ok(())
}
