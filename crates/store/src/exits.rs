//! Exits (to rejected, recycled, disqualified, lost) with their reasons, as `Reasons` reads
//! them: counted by group, kind and code, and listed latest first (docs/ANALYTICS.md).

use chrono::{DateTime, Utc};
use leadledger_analytics::reasons::Count;
use leadledger_domain::Stage;
use sqlx::PgPool;
use uuid::Uuid;

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
    /// How many exits [`list`] returns.
    pub list_limit: i64,
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
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((counts, list))
}
