//! Read-model queries. Every one is scoped to a tenant.

use chrono::{DateTime, NaiveTime, Utc};
use leadledger_analytics::cohorts::Period;
use leadledger_domain::LeadState;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::filters;
pub use crate::filters::{ExitFilter, LeadFilter};
use crate::StoreError;
use leadledger_projection::funnel::{CellRanges, Level};

pub(crate) const LEAD_SELECT: &str = include_str!("sql/leads_select.sql");
const VISITS: &str = include_str!("sql/leads_visits.sql");
const TRANSITIONS: &str = include_str!("sql/leads_transitions.sql");
const TIMELINE: &str = include_str!("sql/leads_timeline.sql");
const MAIN_CURRENCY: &str = include_str!("sql/funnel_main_currency.sql");

/// A row of `leads`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LeadRow {
    pub tenant_id: String,
    pub lead_id: String,
    pub stage: Option<String>,
    pub owner_team: String,
    pub owner_queue: String,
    pub owner_rep_id: String,
    pub owner_partner_id: String,
    pub email: String,
    pub phone: String,
    pub contact_name: String,
    pub contact_title: String,
    /// When the contact was erased; the four contact columns are empty then.
    pub contact_erased_at: Option<DateTime<Utc>>,
    pub company_name: String,
    pub company_domain: String,
    pub region: String,
    pub industry: String,
    pub segment: String,
    /// The source system's account id; the lead's account (`account:<id>`, `domain:<d>` or
    /// `lead:<id>`); its contact's committee role, when given; whether its latest assignment
    /// says primary, and when it was last made primary (migration 0028).
    pub account_id: String,
    pub account_key: String,
    pub contact_role: String,
    pub contact_role_at: Option<DateTime<Utc>>,
    pub primary_contact: bool,
    pub primary_since: Option<DateTime<Utc>>,
    pub employees: i32,
    pub channel: String,
    pub campaign: String,
    pub medium: String,
    pub keyword: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub utm_term: String,
    pub utm_content: String,
    pub landing_page: String,
    pub referrer: String,
    pub offline_activity_id: String,
    pub captured_at: Option<DateTime<Utc>>,
    pub max_rank: i16,
    pub signed_amount_minor: i64,
    pub signed_currency: String,
    pub collected_amount_minor: i64,
    pub event_count: i32,
    pub last_event_at: Option<DateTime<Utc>>,
    pub feedback_required: i32,
    pub feedback_filled: i32,
}

/// A stay in a stage.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VisitRow {
    pub stage: String,
    pub entered_at: DateTime<Utc>,
    pub exited_at: Option<DateTime<Utc>>,
}

/// A stage change.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TransitionRow {
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub at: DateTime<Utc>,
    pub event_id: uuid::Uuid,
    pub kind: String,
    pub skipped: Vec<String>,
    /// The exit columns (migration 0014); NULL on a transition that is no exit.
    pub reason_code: Option<String>,
    pub reason_text: Option<String>,
    pub exit_rep: Option<String>,
    pub exit_team: Option<String>,
    pub reached_stage: Option<String>,
}

/// An entry of the timeline.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TimelineRow {
    pub event_type: String,
    pub log_partition: i32,
    pub log_offset: i64,
    pub raw: Vec<u8>,
}

/// A lead with everything `GetLead` returns.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadDetail {
    pub lead: LeadRow,
    pub visits: Vec<VisitRow>,
    pub transitions: Vec<TransitionRow>,
    pub timeline: Vec<TimelineRow>,
    /// The merges into the lead, live and past.
    pub merges: Vec<crate::identity::MergeRow>,
    /// The lead asked for, when it is merged into this one.
    pub asked_for_merged: Option<String>,
}

/// One lead, or `None` if this tenant has no such lead. A lead merged into another answers
/// with its survivor (whose timeline holds its facts).
pub async fn get_lead(
    pool: &PgPool,
    tenant: &str,
    lead: &str,
) -> Result<Option<LeadDetail>, StoreError> {
    let mut tx = pool.begin().await?;
    // One read of the merge rows; a second only for a lead merged into another.
    let mut merges = crate::identity::merges_of(&mut *tx, tenant, lead).await?;
    let survivor = merges
        .iter()
        .find(|m| m.lead_id == lead && m.unmerge_intent.is_none())
        .map(|m| m.survivor_id.clone());
    let asked_for_merged = survivor.is_some().then(|| lead.to_string());
    if let Some(s) = &survivor {
        merges = crate::identity::merges_of(&mut *tx, tenant, s).await?;
    }
    let lead = survivor.as_deref().unwrap_or(lead);
    // `LEAD_SELECT` is shared with `list_leads`, so only its WHERE is added here.
    let row: Option<LeadRow> = sqlx::query_as(&format!(
        "{LEAD_SELECT} WHERE tenant_id = $1 AND lead_id = $2"
    ))
    .bind(tenant)
    .bind(lead)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(lead_row) = row else {
        return Ok(None);
    };
    let visits = sqlx::query_as(VISITS)
        .bind(tenant)
        .bind(lead)
        .fetch_all(&mut *tx)
        .await?;
    let transitions = sqlx::query_as(TRANSITIONS)
        .bind(tenant)
        .bind(lead)
        .fetch_all(&mut *tx)
        .await?;
    // The lead's events and those of the leads live-merged into it (by the index on lead).
    let group: Vec<&str> = std::iter::once(lead)
        .chain(
            merges
                .iter()
                .filter(|m| m.unmerge_intent.is_none())
                .map(|m| m.lead_id.as_str()),
        )
        .collect();
    let timeline = sqlx::query_as(TIMELINE)
        .bind(tenant)
        .bind(&group)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(LeadDetail {
        lead: lead_row,
        visits,
        transitions,
        timeline,
        merges,
        asked_for_merged,
    }))
}

/// Where a page starts: the sort key of the last lead of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub captured_at: DateTime<Utc>,
    pub lead_id: String,
}

/// Leads matching `filter`, newest capture first (leads without a capture last), at most
/// `limit`, after `cursor`.
pub async fn list_leads(
    pool: &PgPool,
    tenant: &str,
    filter: &LeadFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<LeadRow>, StoreError> {
    // Dynamic SQL: the filters given decide the WHERE clauses and how many parameters bind.
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(LEAD_SELECT);
    q.push(" WHERE tenant_id = ").push_bind(tenant);
    filters::push_where(&mut q, filter);
    if let Some(c) = cursor {
        q.push(" AND (coalesce(captured_at, 'epoch'::timestamptz), lead_id) < (")
            .push_bind(c.captured_at)
            .push(", ")
            .push_bind(c.lead_id.clone())
            .push(")");
    }
    q.push(" ORDER BY coalesce(captured_at, 'epoch'::timestamptz) DESC, lead_id DESC LIMIT ")
        .push_bind(limit);
    Ok(q.build_query_as().fetch_all(pool).await?)
}

/// A funnel dimension, mapped to a fixed SQL expression (never user text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Channel,
    Campaign,
    Region,
    Industry,
    Segment,
    CaptureMonth,
}

impl Dimension {
    /// The column over `funnel_cells` (and `funnel_block_cells` and `funnel_month_cells`,
    /// whose `capture_block` and `capture_month` the funnel query names `capture_day`) that
    /// each range's partial aggregate groups by. The capture month is grouped by its date
    /// there and formatted once per group by [`Dimension::cell_key`]: formatting it for every
    /// cell cost a third of the mid-month funnel by month and channel (measured at 1M leads,
    /// ~20k cells read: 30 ms → 21 ms).
    fn cell_sql(self) -> &'static str {
        match self {
            Dimension::CaptureMonth => "capture_day",
            other => other.sql(),
        }
    }

    /// The group key element over the partial aggregates' column `name` (of
    /// [`Dimension::cell_sql`]).
    fn cell_key(self, name: &str) -> String {
        match self {
            Dimension::CaptureMonth => format!(
                "CASE WHEN {name} = DATE '1970-01-01' THEN '' ELSE to_char({name}, 'YYYY-MM') END"
            ),
            _ => name.to_string(),
        }
    }

    /// The key element of a folded lead, as [`Dimension::sql`] computes it over its row
    /// (measures at a cut, [`crate::cut`]).
    pub fn of_state(self, st: &LeadState) -> String {
        match self {
            Dimension::Channel => st.source.channel.clone(),
            Dimension::Campaign => st.source.campaign.clone(),
            Dimension::Region => st.company.region.clone(),
            Dimension::Industry => st.company.industry.clone(),
            Dimension::Segment => st.company.segment.as_str().to_string(),
            Dimension::CaptureMonth => st
                .captured_at
                .map(|t| Period::Month.name(t))
                .unwrap_or_default(),
        }
    }

    /// The key element over `leads` (also what `stays` groups the measures by).
    pub(crate) fn sql(self) -> &'static str {
        match self {
            Dimension::Channel => "channel",
            Dimension::Campaign => "campaign",
            Dimension::Region => "region",
            Dimension::Industry => "industry",
            Dimension::Segment => "segment",
            Dimension::CaptureMonth => {
                "coalesce(to_char(captured_at AT TIME ZONE 'UTC', 'YYYY-MM'), '')"
            }
        }
    }
}

/// One group of a funnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelRow {
    pub key: Vec<String>,
    /// Leads that reached captured, MQL, SQL, POC, signed (or a later main-line stage).
    pub reached: [i64; 5],
    /// The signed leads by the currency of their contract, in currency order.
    pub signed: Vec<SignedTotals>,
}

impl FunnelRow {
    /// A group from its reached counts and, per currency, its won leads, signed amount and
    /// collected amount.
    pub fn of_totals(
        key: Vec<String>,
        reached: [i64; 5],
        signed: std::collections::BTreeMap<String, [i64; 3]>,
    ) -> Self {
        FunnelRow {
            key,
            reached,
            signed: signed
                .into_iter()
                .map(|(currency, [won, amount, collected])| SignedTotals {
                    currency,
                    won,
                    amount,
                    collected,
                })
                .collect(),
        }
    }
}

/// The signed leads of a funnel group in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTotals {
    pub currency: String,
    /// Leads signed in this currency.
    pub won: i64,
    /// Their signed amount, minor units.
    pub amount: i64,
    /// Their payments in this currency, minor units.
    pub collected: i64,
}

/// Funnel counts grouped by `dims`, over leads captured in `[from, to)`.
///
/// Bounds on whole UTC days (or none) read the pre-aggregated cells (`leadledger_projection::funnel`:
/// whole months from `funnel_month_cells`, each partial month at the edges by its cheaper
/// side, its blocks and days in the range from `funnel_block_cells` and `funnel_cells`, or
/// its month cell minus the blocks and days outside the range); other bounds aggregate
/// `leads`. Both give the same rows.
pub async fn funnel(
    pool: &PgPool,
    tenant: &str,
    dims: &[Dimension],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<FunnelRow>, StoreError> {
    let whole_day = |t: Option<DateTime<Utc>>| t.is_none_or(|t| t.time() == NaiveTime::MIN);
    if whole_day(from) && whole_day(to) {
        funnel_from_cells(pool, tenant, dims, from, to).await
    } else {
        funnel_from_leads(pool, tenant, dims, from, to).await
    }
}

/// The cells of a level (the month cells for `None`) as the funnel query reads them, with
/// the column its ranges bound. The month and block cells name their date `capture_day` too,
/// for [`Dimension::cell_sql`]. (Fragments of the dynamic funnel statement, not statements.)
fn cells_of(level: Option<Level>) -> (&'static str, &'static str) {
    match level {
        None => (
            "(SELECT tenant_id, capture_month, capture_month AS capture_day, channel, \
              campaign, region, industry, segment, currency, captured, mql, sql, poc, \
              signed, signed_amount_minor, collected_amount_minor FROM funnel_month_cells) mc",
            "capture_month",
        ),
        Some(Level::Block) => (
            "(SELECT tenant_id, capture_block, capture_block AS capture_day, channel, \
              campaign, region, industry, segment, currency, captured, mql, sql, poc, \
              signed, signed_amount_minor, collected_amount_minor FROM funnel_block_cells) bc",
            "capture_block",
        ),
        Some(Level::Day) => ("funnel_cells", "capture_day"),
    }
}

/// The `text[]` group key built from its element expressions (an empty array for none).
pub(crate) fn key_expr<S: AsRef<str>>(elements: &[S]) -> String {
    let elements: Vec<&str> = elements.iter().map(AsRef::as_ref).collect();
    format!("ARRAY[{}]::text[]", elements.join(", "))
}

/// The funnel from the cells: the whole months of the range from `funnel_month_cells`, and
/// each partial month at its edges by its cheaper side, its whole blocks inside the range
/// from `funnel_block_cells` and the leftover days from `funnel_cells`, or its month cell
/// minus the blocks and days outside the range ([`CellRanges::split`]).
async fn funnel_from_cells(
    pool: &PgPool,
    tenant: &str,
    dims: &[Dimension],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<FunnelRow>, StoreError> {
    let ranges = CellRanges::split(from.map(|t| t.date_naive()), to.map(|t| t.date_naive()));
    // Each range (the months, then each block or day part with its sign: +1 adds, -1 takes
    // out of a month or block cell what it holds beyond the range) is aggregated on its own
    // and the partial sums are summed: aggregating the UNION ALL of the raw cells instead
    // hides the columns' statistics from the planner, which then expects a group per ~10
    // cells and sorts ~65k cells on disk (measured: a quarter of day cells 166 ms instead of
    // 57 ms). A group whose `captured` sums to zero is empty (`captured` counts every lead; a
    // subtraction can leave such a group, e.g. a currency signed only on excluded days) and
    // is dropped, as the aggregate of `leads` has no such group.
    //
    // Grouped by the dimension expressions and the currency themselves (cheaper than by the
    // `text[]` key), and ordered by them element by element: the order of the key arrays,
    // which keeps the rows of one key consecutive and the groups in `funnel_from_leads`'
    // order. The month and block branches name their date `capture_day` for the
    // `CaptureMonth` expression (a month's or block's first day is in its month).
    let names: Vec<String> = dims
        .iter()
        .enumerate()
        .map(|(i, d)| d.cell_key(&format!("k{i}")))
        .chain(["currency".to_string()])
        .collect();
    let select: Vec<String> = dims
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{} AS k{i}", d.cell_sql()))
        .chain(["currency".to_string()])
        .collect();
    let group_by = (1..=names.len())
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    // One branch per range: its cells, its bounds in parameters `$a` and `$a+1` (`$1` is the
    // tenant, `$2` whether the not-captured cell is read), its sign.
    let partial = |level: Option<Level>, a: usize, sign: i64| {
        let (cells, col) = cells_of(level);
        let sign = if sign < 0 { " * -1" } else { "" };
        format!(
            "SELECT {}, sum(captured)::int8{sign} AS c, sum(mql)::int8{sign} AS m, \
               sum(sql)::int8{sign} AS s, sum(poc)::int8{sign} AS p, \
               sum(signed)::int8{sign} AS w, sum(signed_amount_minor)::int8{sign} AS a, \
               sum(collected_amount_minor)::int8{sign} AS co \
             FROM {cells} WHERE tenant_id = $1 \
               AND {col} >= coalesce(${a}::date, '-infinity') \
               AND {col} < coalesce(${}::date, 'infinity') \
               AND ($2 OR {col} <> DATE '1970-01-01') \
             GROUP BY {group_by}",
            select.join(", "),
            a + 1,
        )
    };
    let mut branches = vec![partial(None, 3, 1)];
    for (i, p) in ranges.parts.iter().enumerate() {
        branches.push(partial(Some(p.level), 5 + 2 * i, p.sign));
    }
    let key = key_expr(&names[..dims.len()]);
    let by = names.join(", ");
    // Dynamic SQL: the dimensions pick the key and group columns, the ranges the branches.
    let sql = format!(
        "SELECT {key} AS key, currency, sum(c)::int8, sum(m)::int8, sum(s)::int8, \
           sum(p)::int8, sum(w)::int8, sum(a)::int8, sum(co)::int8 \
         FROM ({}) c \
         GROUP BY {by} HAVING sum(c) <> 0 ORDER BY {by}",
        branches.join(" UNION ALL "),
    );
    type Row = (Vec<String>, String, i64, i64, i64, i64, i64, i64, i64);
    // Not a prepared statement kept per connection: after five runs PostgreSQL may switch it
    // to a generic plan, which cannot see which of the ranges are empty (or a whole table)
    // and plans them all alike (measured on 193k day cells: a whole month 12–19 ms
    // instead of 2–5 ms). Planning each query costs ~0.5 ms.
    let mut q = sqlx::query_as::<_, Row>(&sql)
        .persistent(false)
        .bind(tenant)
        .bind(ranges.not_captured)
        .bind(ranges.months.from)
        .bind(ranges.months.to);
    for p in &ranges.parts {
        q = q.bind(p.range.from).bind(p.range.to);
    }
    // PostgreSQL may run the branches in parallel workers. Measured serially as well (`SET
    // LOCAL max_parallel_workers_per_gather = 0` in a transaction, 1M leads, 2 cores): the
    // whole-month ranges got slower (p50 7.4 → 11.5 ms) and the mid-month edges no faster.
    let rows = q.fetch_all(pool).await?;
    // Rows come ordered by key (the database's collation, as the `leads` path orders them),
    // one per currency: merge consecutive rows of one key.
    let mut out: Vec<FunnelRow> = Vec::new();
    for (key, currency, c, m, s, p, w, amount, collected) in rows {
        if out.last().is_none_or(|r| r.key != key) {
            out.push(FunnelRow {
                key,
                reached: [0; 5],
                signed: Vec::new(),
            });
        }
        let row = out.last_mut().expect("pushed above");
        for (slot, n) in row.reached.iter_mut().zip([c, m, s, p, w]) {
            *slot += n;
        }
        if w > 0 {
            row.signed.push(SignedTotals {
                currency,
                won: w,
                amount,
                collected,
            });
        }
    }
    for row in &mut out {
        row.signed.sort_by(|a, b| a.currency.cmp(&b.currency));
    }
    Ok(out)
}

/// The currency most of the tenant's signed leads are in (ties: alphabetical); `None`
/// when nothing is signed.
pub async fn main_currency(pool: &PgPool, tenant: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(MAIN_CURRENCY)
        .bind(tenant)
        .fetch_optional(pool)
        .await?)
}

/// The funnel aggregated from `leads` directly: what the cells must always give (the
/// tests compare them), and the path for bounds that are not whole days.
pub async fn funnel_from_leads(
    pool: &PgPool,
    tenant: &str,
    dims: &[Dimension],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<FunnelRow>, StoreError> {
    let key_expr = key_expr(&dims.iter().map(|d| d.sql()).collect::<Vec<_>>());
    // Dynamic SQL: the group key is built from the dimensions' expressions.
    let sql = format!(
        "SELECT {key_expr} AS key, count(*), \
           count(*) FILTER (WHERE max_rank >= 2), count(*) FILTER (WHERE max_rank >= 3), \
           count(*) FILTER (WHERE max_rank >= 4), count(*) FILTER (WHERE max_rank >= 5), \
           coalesce(array_agg(signed_currency) FILTER (WHERE max_rank >= 5), '{{}}'), \
           coalesce(array_agg(signed_amount_minor) FILTER (WHERE max_rank >= 5), '{{}}'), \
           coalesce(array_agg(collected_amount_minor) FILTER (WHERE max_rank >= 5), '{{}}') \
         FROM leads WHERE tenant_id = $1 \
           AND ($2::timestamptz IS NULL OR captured_at >= $2) \
           AND ($3::timestamptz IS NULL OR captured_at < $3) \
         GROUP BY 1 ORDER BY 1"
    );
    type Row = (
        Vec<String>,
        i64,
        i64,
        i64,
        i64,
        i64,
        Vec<String>,
        Vec<i64>,
        Vec<i64>,
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(tenant)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(key, c, m, s, p, w, currencies, amounts, collected)| {
            let mut signed: std::collections::BTreeMap<String, [i64; 3]> = Default::default();
            for ((cur, amt), col) in currencies.into_iter().zip(amounts).zip(collected) {
                let t = signed.entry(cur).or_default();
                t[0] += 1;
                t[1] += amt;
                t[2] += col;
            }
            FunnelRow::of_totals(key, [c, m, s, p, w], signed)
        })
        .collect())
}
