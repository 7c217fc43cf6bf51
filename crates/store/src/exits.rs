//! Exits (to rejected, recycled, disqualified, lost) with their reasons, as `Reasons` reads
//! them: counted by group, kind and code, and listed latest first (docs/ANALYTICS.md).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadledger_analytics::cohorts::Period;
use leadledger_analytics::reasons::Count;
use leadledger_domain::reason::Exit;
use leadledger_domain::{Cut, Event, LeadState, Stage, Transition, TransitionKind};
use sqlx::PgPool;
use uuid::Uuid;

use crate::cut;
use crate::leads::Dimension;
use crate::StoreError;

const COUNTS: &str = include_str!("sql/exits_counts.sql");
const LIST: &str = include_str!("sql/exits_list.sql");

/// What exits are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitDimension {
    /// A dimension of the lead, keyed exactly as `Funnel` keys it.
    Lead(Dimension),
    /// `YYYY-MM` of the exit (UTC).
    ExitMonth,
    /// ISO 8601 `YYYY-Www` of the exit (UTC).
    ExitWeek,
    /// The rep the fact names, else the owner just before.
    Rep,
    /// The team that owned the lead just before.
    Team,
    /// The furthest main-line stage reached before the exit.
    ReachedStage,
}

impl ExitDimension {
    /// The key element over `stage_transitions t JOIN leads` (fixed strings, never user
    /// input; the lead's columns are unqualified, the transitions' never clash with them).
    fn sql(self) -> &'static str {
        match self {
            ExitDimension::Lead(d) => d.sql(),
            ExitDimension::ExitMonth => "to_char(t.at AT TIME ZONE 'UTC', 'YYYY-MM')",
            ExitDimension::ExitWeek => "to_char(t.at AT TIME ZONE 'UTC', 'IYYY-\"W\"IW')",
            ExitDimension::Rep => "coalesce(t.exit_rep, '')",
            ExitDimension::Team => "coalesce(t.exit_team, '')",
            ExitDimension::ReachedStage => "coalesce(t.reached_stage, '')",
        }
    }
}

impl ExitDimension {
    /// The key element of exit `t` of folded lead `st`, as [`ExitDimension::sql`] computes
    /// it over the rows.
    fn of_exit(self, st: &LeadState, t: &Transition, x: &Exit) -> String {
        match self {
            ExitDimension::Lead(d) => d.of_state(st),
            ExitDimension::ExitMonth => Period::Month.name(t.at),
            ExitDimension::ExitWeek => Period::Week.name(t.at),
            ExitDimension::Rep => x.rep_id.clone(),
            ExitDimension::Team => x.team.clone(),
            ExitDimension::ReachedStage => x
                .reached
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
        }
    }
}

/// Which exits.
#[derive(Debug, Clone)]
pub struct ExitsQuery {
    pub group_by: Vec<ExitDimension>,
    pub exited_from: Option<DateTime<Utc>>,
    pub exited_to: Option<DateTime<Utc>>,
    /// Exit stages (never empty: the caller fills in all four).
    pub kinds: Vec<Stage>,
    /// Only exits of leads that had reached this main-line stage or a later one.
    pub reached: Option<Stage>,
    /// How many exits [`counts_and_list`] lists.
    pub list_limit: i64,
    /// The exits as this cut of the log folds the leads; the read models when live.
    pub cut: Cut,
}

/// One listed exit.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ExitRow {
    pub lead_id: String,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub from_stage: Option<String>,
    pub reason_code: String,
    pub reason_text: String,
    pub exit_rep: String,
    pub exit_team: String,
    pub reached_stage: Option<String>,
    pub event_id: Uuid,
}

#[derive(sqlx::FromRow)]
struct CountRow {
    key: Vec<String>,
    kind: String,
    code: String,
    exits: i64,
    leads: i64,
}

fn kinds(q: &ExitsQuery) -> Vec<&'static str> {
    q.kinds.iter().map(|s| s.as_str()).collect()
}

fn reached_rank(q: &ExitsQuery) -> Option<i32> {
    q.reached.and_then(Stage::rank).map(i32::from)
}

/// The exits of `tenant` that `q` selects, counted by group, kind and code; and up to
/// `q.list_limit` of them, latest first. Both read one snapshot.
pub async fn counts_and_list(
    pool: &PgPool,
    tenant: &str,
    q: &ExitsQuery,
) -> Result<(Vec<Count>, Vec<ExitRow>), StoreError> {
    if !q.cut.is_live() {
        return at_cut(pool, tenant, q).await;
    }
    let key: Vec<&str> = q.group_by.iter().map(|d| d.sql()).collect();
    let sql = COUNTS.replace("/*KEY*/", &format!("ARRAY[{}]::text[]", key.join(", ")));
    let mut conn = pool.acquire().await?;
    let mut tx = crate::db::snapshot(&mut conn).await?;
    let rows: Vec<CountRow> = sqlx::query_as(&sql)
        .bind(tenant)
        .bind(q.exited_from)
        .bind(q.exited_to)
        .bind(kinds(q))
        .bind(reached_rank(q))
        .fetch_all(&mut *tx)
        .await?;
    let list = if q.list_limit > 0 {
        sqlx::query_as(LIST)
            .bind(tenant)
            .bind(q.exited_from)
            .bind(q.exited_to)
            .bind(kinds(q))
            .bind(reached_rank(q))
            .bind(q.list_limit)
            .fetch_all(&mut *tx)
            .await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let counts = rows
        .into_iter()
        .map(|r| {
            let kind = Stage::parse(&r.kind)
                .filter(|s| s.is_exit())
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("stage_transitions: an exit into {}", r.kind))
                })?;
            Ok(Count {
                key: r.key,
                kind,
                code: r.code,
                exits: r.exits,
                leads: r.leads,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((counts, list))
}

/// [`counts_and_list`] at a cut: the exits of each lead folded from the events it admits.
async fn at_cut(
    pool: &PgPool,
    tenant: &str,
    q: &ExitsQuery,
) -> Result<(Vec<Count>, Vec<ExitRow>), StoreError> {
    let min_rank = q.reached.and_then(Stage::rank);
    // Per (key, kind, code): exits and distinct leads.
    let mut counts: BTreeMap<(Vec<String>, Stage, String), (i64, i64)> = BTreeMap::new();
    let mut list: Vec<ExitRow> = Vec::new();
    let add = |lead: &str, st: LeadState, _: &[Event]| {
        let mut of_lead = std::collections::BTreeSet::new();
        for t in &st.transitions {
            let Some(x) = t.exit.as_ref() else { continue };
            let selected = t.kind == TransitionKind::Exit
                && q.kinds.contains(&t.to)
                && q.exited_from.is_none_or(|f| t.at >= f)
                && q.exited_to.is_none_or(|u| t.at < u)
                && min_rank.is_none_or(|r| x.reached.and_then(Stage::rank).is_some_and(|h| h >= r));
            if !selected {
                continue;
            }
            let key: Vec<String> = q.group_by.iter().map(|d| d.of_exit(&st, t, x)).collect();
            let n = counts
                .entry((key.clone(), t.to, x.code.clone()))
                .or_default();
            n.0 += 1;
            if of_lead.insert((key, t.to, x.code.clone())) {
                n.1 += 1;
            }
            if q.list_limit > 0 {
                list.push(ExitRow {
                    lead_id: lead.to_string(),
                    kind: t.to.as_str().to_string(),
                    at: t.at,
                    from_stage: t.from.map(|s| s.as_str().to_string()),
                    reason_code: x.code.clone(),
                    reason_text: x.text.clone(),
                    exit_rep: x.rep_id.clone(),
                    exit_team: x.team.clone(),
                    reached_stage: x.reached.map(|s| s.as_str().to_string()),
                    event_id: t.event_id,
                });
            }
        }
    };
    cut::for_each_lead(pool, tenant, &q.cut, cut::Captured::default(), add).await?;
    // exits_list.sql's order: latest first, then lead id and position. Leads arrive in the
    // database's lead id order and each lead's exits in position order; the sort is stable.
    list.sort_by_key(|r| std::cmp::Reverse(r.at));
    let list = list
        .into_iter()
        .take(usize::try_from(q.list_limit).unwrap_or(0))
        .collect();
    let counts = counts
        .into_iter()
        .map(|((key, kind, code), (exits, leads))| Count {
            key,
            kind,
            code,
            exits,
            leads,
        })
        .collect();
    Ok((counts, list))
}
