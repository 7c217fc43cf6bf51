//! SLA clocks, feedback completeness and ownership in the read models, end to end: a
//! simulated quarter (late and duplicate facts) through ingest and the projector, checked
//! against the pure `leadledger-sla` functions on the same timelines; and a hand-built lead
//! whose late facts turn a breach into "met late" and then into "met".

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use leadledger_api::pb::{self, event::Payload as P};
use leadledger_domain::ids::sla_alert_id;
use leadledger_domain::{fold, Event};
use leadledger_e2e::events::{at, captured, event, mql};
use leadledger_e2e::{append, assert_same_rows, TestEnv};
use leadledger_sla::{evaluate, lead_feedback, ClockState, PolicySet};
use uuid::Uuid;

const T: &str = "acme";
/// A tenant whose leads are captured from December 2025 to January 2026.
const WINTER: &str = "acme-winter";

/// One `sla_clocks` row, as text columns in a fixed order.
type ClockRow = (
    String,                // policy_id
    Uuid,                  // start_event_id
    DateTime<Utc>,         // started_at
    DateTime<Utc>,         // at_risk_at
    DateTime<Utc>,         // due_at
    String,                // status
    Option<DateTime<Utc>>, // ended_at
    Option<DateTime<Utc>>, // breached_at
    Uuid,                  // at_risk_event_id
    Uuid,                  // breach_event_id
);

/// lead, policy, start event, started, at risk, due, status.
type ClockHead = (
    String,
    String,
    Uuid,
    DateTime<Utc>,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
);
/// ended, breached, at-risk alert id, breach alert id.
type ClockEnd = (Option<DateTime<Utc>>, Option<DateTime<Utc>>, Uuid, Uuid);
/// lead, feedback owed, filled, owner since, owner rep.
type LeadHandoff = (String, i32, i32, Option<DateTime<Utc>>, String);

async fn stored_clocks(
    env: &TestEnv,
    lead: Option<&str>,
) -> anyhow::Result<BTreeMap<String, Vec<ClockRow>>> {
    let rows: Vec<ClockHead> = sqlx::query_as(
        "SELECT lead_id, policy_id, start_event_id, started_at, at_risk_at, due_at, status \
             FROM sla_clocks WHERE tenant_id = $1 AND ($2::text IS NULL OR lead_id = $2) \
             ORDER BY lead_id, started_at, start_event_id, policy_id",
    )
    .bind(T)
    .bind(lead)
    .fetch_all(&env.store.pool)
    .await?;
    let ends: Vec<ClockEnd> = sqlx::query_as(
        "SELECT ended_at, breached_at, at_risk_event_id, breach_event_id \
         FROM sla_clocks WHERE tenant_id = $1 AND ($2::text IS NULL OR lead_id = $2) \
         ORDER BY lead_id, started_at, start_event_id, policy_id",
    )
    .bind(T)
    .bind(lead)
    .fetch_all(&env.store.pool)
    .await?;
    let mut out: BTreeMap<String, Vec<ClockRow>> = BTreeMap::new();
    for ((lead, p, s, st, ar, due, status), (ended, breached, ar_id, br_id)) in
        rows.into_iter().zip(ends)
    {
        out.entry(lead)
            .or_default()
            .push((p, s, st, ar, due, status, ended, breached, ar_id, br_id));
    }
    Ok(out)
}

/// The rows the projector should have written for one lead: every default policy evaluated
/// over the whole timeline, a clock still waiting stored as `running`.
fn expected_clocks(events: &[Event]) -> Vec<ClockRow> {
    let set = PolicySet::defaults();
    let st = fold(events);
    evaluate(
        &set.policies,
        &set.calendar,
        events,
        &st,
        DateTime::<Utc>::MAX_UTC,
    )
    .into_iter()
    .map(|c| {
        let (status, ended, breached) = match &c.state {
            ClockState::Met { at } => ("met", Some(*at), None),
            ClockState::MetLate { at, breached_at } => ("met_late", Some(*at), Some(*breached_at)),
            ClockState::Stopped {
                at, breached_at, ..
            } => ("stopped", Some(*at), *breached_at),
            _ => ("running", None, None),
        };
        (
            c.policy_id.clone(),
            c.start_event_id,
            c.started_at,
            c.at_risk_at,
            c.due_at,
            status.to_string(),
            ended,
            breached,
            sla_alert_id(c.start_event_id, &c.policy_id, "at_risk"),
            sla_alert_id(c.start_event_id, &c.policy_id, "breached"),
        )
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_and_feedback_of_a_simulated_quarter_equal_the_pure_functions() -> anyhow::Result<()>
{
    let env = TestEnv::start(3).await?;
    let sim = leadledger_sim::generate(&leadledger_sim::SimConfig {
        seed: 5,
        leads: 300,
        tenant: T.into(),
        late_rate: 0.1,
        duplicate_rate: 0.1,
        ..Default::default()
    });
    // A second tenant captured across a new year, for the funnel's month cells below.
    let winter = leadledger_sim::generate(&leadledger_sim::SimConfig {
        seed: 6,
        leads: 120,
        tenant: WINTER.into(),
        start: Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap(),
        capture_days: 62,
        late_rate: 0.1,
        duplicate_rate: 0.1,
        ..Default::default()
    });
    let mut ingest = env.ingest().await?;
    for chunk in sim.deliveries.chunks(400) {
        append(&mut ingest, T, chunk.to_vec()).await?;
    }
    for chunk in winter.deliveries.chunks(400) {
        append(&mut ingest, WINTER, chunk.to_vec()).await?;
    }
    // And leads whose cells move: touched only (the not-captured cell), captured in January
    // and then found captured in December (a move across months that empties its January
    // cells), and moved within January (the month cell stays).
    let touch = |lead: &str, src: &str| {
        event(
            lead,
            "marketo",
            src,
            at(1, 12, 9),
            P::TouchRecorded(pb::TouchRecorded {
                channel: "sem".into(),
                touch_type: pb::TouchType::AdClick as i32,
                ..Default::default()
            }),
        )
    };
    append(
        &mut ingest,
        WINTER,
        vec![
            touch("W-touched", "wt1"),
            captured("W-moved", "wm1", at(1, 3, 9), "moved-across"),
            captured("W-within", "ww1", at(1, 20, 9), "moved-within"),
        ],
    )
    .await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;
    let dec28 = Utc.with_ymd_and_hms(2025, 12, 28, 9, 0, 0).unwrap();
    append(
        &mut ingest,
        WINTER,
        vec![
            captured("W-moved", "wm0", dec28, "moved-across"),
            captured("W-within", "ww0", at(1, 5, 9), "moved-within"),
        ],
    )
    .await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;

    let events = leadledger_store::timeline::of_tenant(&env.store.pool, T, None, None).await?;
    let mut by_lead: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for e in events {
        by_lead.entry(e.lead_id.clone()).or_default().push(e);
    }
    let stored = stored_clocks(&env, None).await?;
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for (lead, evs) in &by_lead {
        let want = expected_clocks(evs);
        let got = stored.get(lead).cloned().unwrap_or_default();
        assert_eq!(got, want, "clocks of lead {lead}");
        for c in &want {
            *statuses.entry(c.5.clone()).or_default() += 1;
        }
    }
    assert_eq!(
        stored.keys().collect::<HashSet<_>>(),
        by_lead
            .iter()
            .filter(|(_, evs)| !expected_clocks(evs).is_empty())
            .map(|(l, _)| l)
            .collect::<HashSet<_>>()
    );
    // The quarter exercises every outcome, so the comparison above means something.
    for s in ["met", "met_late", "running", "stopped"] {
        assert!(
            statuses.get(s).copied().unwrap_or(0) > 0,
            "no {s} clock: {statuses:?}"
        );
    }

    // Feedback completeness and the owner's start, per lead.
    let rows: Vec<LeadHandoff> = sqlx::query_as(
        "SELECT lead_id, feedback_required, feedback_filled, owner_since, owner_rep_id \
         FROM leads WHERE tenant_id = $1",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    let feedback = PolicySet::defaults().feedback;
    let mut owed = 0;
    // lead → (required, filled), as the pure function counts them.
    let mut pure: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for (lead, required, filled, since, rep) in rows {
        let evs = &by_lead[&lead];
        let f = lead_feedback(evs, &feedback);
        pure.insert(lead.clone(), (f.required, f.filled));
        assert_eq!(
            (required, filled),
            (f.required as i32, f.filled as i32),
            "{lead}"
        );
        let st = fold(evs);
        assert_eq!(
            (since, rep),
            (st.owner_since, st.owner.rep_id.clone()),
            "{lead}"
        );
        owed += required;
    }
    assert!(owed > 0, "the simulated quarter owes feedback");
    // GetLead shows each lead's feedback as the pure function counts it (leads that owe
    // some, and one that owes none).
    let mut query = env.query().await?;
    let owing: Vec<&String> = pure
        .iter()
        .filter(|(_, (required, _))| *required > 0)
        .map(|(l, _)| l)
        .take(20)
        .chain(
            pure.iter()
                .find(|(_, (required, _))| *required == 0)
                .map(|(l, _)| l),
        )
        .collect();
    assert!(owing.len() > 10, "{} leads to look up", owing.len());
    for lead in owing {
        let got = query
            .get_lead(pb::GetLeadRequest {
                tenant_id: T.into(),
                lead_id: lead.clone(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .lead
            .expect("a lead");
        assert_eq!(
            (got.feedback_required, got.feedback_filled),
            pure[lead],
            "GetLead {lead}"
        );
    }

    assert_funnel_cells(&env).await?;
    env.cleanup().await
}

/// The pre-aggregated funnel: the day cells equal the aggregate of `leads`, and the block and
/// month cells the day cells summed by block and by month, row for row (no empty rows); and
/// the funnel from the cells equals the aggregate of `leads` for every grouping and
/// day-aligned bounds that start or end on a month's or a block's first day or inside a
/// block, cross months (and a new year), lie within one month or one block, cross block
/// boundaries inside a month or are open-ended, and read a partial month by its blocks and
/// days or as its month cell minus its other blocks and days (at the start, the end or both
/// edges), and a partial block by its days or as its block cell minus its other days.
async fn assert_funnel_cells(env: &TestEnv) -> anyhow::Result<()> {
    use leadledger_store::leads::{funnel, funnel_from_leads, Dimension};
    let pool = &env.store.pool;
    let rows = |sql: &'static str| async move {
        sqlx::query_scalar::<_, String>(sql).fetch_all(pool).await
    };
    let days = rows(
        "SELECT t::text FROM funnel_cells t \
         ORDER BY tenant_id, capture_day, channel, campaign, region, industry, segment, currency",
    )
    .await?;
    let from_leads = rows(
        "SELECT t::text FROM (SELECT tenant_id, \
           coalesce((captured_at AT TIME ZONE 'UTC')::date, DATE '1970-01-01') AS capture_day, \
           channel, campaign, region, industry, segment, \
           CASE WHEN max_rank >= 5 THEN signed_currency ELSE '' END AS currency, \
           count(*) AS captured, count(*) FILTER (WHERE max_rank >= 2) AS mql, \
           count(*) FILTER (WHERE max_rank >= 3) AS sql, \
           count(*) FILTER (WHERE max_rank >= 4) AS poc, \
           count(*) FILTER (WHERE max_rank >= 5) AS signed, \
           coalesce(sum(signed_amount_minor) FILTER (WHERE max_rank >= 5), 0)::int8 \
             AS signed_amount_minor, \
           coalesce(sum(collected_amount_minor) FILTER (WHERE max_rank >= 5), 0)::int8 \
             AS collected_amount_minor \
         FROM leads GROUP BY 1, 2, 3, 4, 5, 6, 7, 8) t \
         ORDER BY tenant_id, capture_day, channel, campaign, region, industry, segment, currency",
    )
    .await?;
    assert_same_rows(&days, &from_leads, "funnel_cells = leads aggregated by day");
    let months = rows(
        "SELECT t::text FROM funnel_month_cells t \
         ORDER BY tenant_id, capture_month, channel, campaign, region, industry, segment, \
           currency",
    )
    .await?;
    let from_days = rows(
        "SELECT t::text FROM (SELECT tenant_id, \
           date_trunc('month', capture_day::timestamp)::date AS capture_month, \
           channel, campaign, region, industry, segment, currency, \
           sum(captured)::int8, sum(mql)::int8, sum(sql)::int8, sum(poc)::int8, \
           sum(signed)::int8, sum(signed_amount_minor)::int8, \
           sum(collected_amount_minor)::int8 \
         FROM funnel_cells GROUP BY 1, 2, 3, 4, 5, 6, 7, 8) t \
         ORDER BY tenant_id, capture_month, channel, campaign, region, industry, segment, \
           currency",
    )
    .await?;
    assert_eq!(
        months, from_days,
        "funnel_month_cells = funnel_cells by month"
    );
    let blocks = rows(
        "SELECT t::text FROM funnel_block_cells t \
         ORDER BY tenant_id, capture_block, channel, campaign, region, industry, segment, \
           currency",
    )
    .await?;
    // A block starts `(day of month - 1) % 7` days before a day (the 29th-31st: the 29th).
    let from_days = rows(
        "SELECT t::text FROM (SELECT tenant_id, \
           capture_day - (extract(day FROM capture_day)::int - 1) % 7 AS capture_block, \
           channel, campaign, region, industry, segment, currency, \
           sum(captured)::int8, sum(mql)::int8, sum(sql)::int8, sum(poc)::int8, \
           sum(signed)::int8, sum(signed_amount_minor)::int8, \
           sum(collected_amount_minor)::int8 \
         FROM funnel_cells GROUP BY 1, 2, 3, 4, 5, 6, 7, 8) t \
         ORDER BY tenant_id, capture_block, channel, campaign, region, industry, segment, \
           currency",
    )
    .await?;
    assert_same_rows(
        &blocks,
        &from_days,
        "funnel_block_cells = funnel_cells by block",
    );
    let block_days: Vec<i32> = sqlx::query_scalar(
        "SELECT DISTINCT extract(day FROM capture_block)::int4 FROM funnel_block_cells \
         WHERE capture_block <> DATE '1970-01-01' ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    assert_eq!(block_days, [1, 8, 15, 22, 29], "the days blocks start on");
    let empty: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM funnel_cells WHERE captured = 0) \
           + (SELECT count(*) FROM funnel_block_cells WHERE captured = 0) \
           + (SELECT count(*) FROM funnel_month_cells WHERE captured = 0)",
    )
    .fetch_one(pool)
    .await?;
    assert_eq!(empty, 0, "empty cells left behind");
    // Both tenants spread over several months, and some leads are not captured (1970-01-01).
    let spread: Vec<(String, i64, bool)> = sqlx::query_as(
        "SELECT tenant_id, count(DISTINCT capture_month) FILTER \
           (WHERE capture_month <> DATE '1970-01-01'), \
           bool_or(capture_month = DATE '1970-01-01') \
         FROM funnel_month_cells GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    assert_eq!(
        spread
            .iter()
            .map(|(t, n, _)| (t.as_str(), *n >= 2))
            .collect::<Vec<_>>(),
        [(T, true), (WINTER, true)],
        "{spread:?}"
    );
    assert!(spread[1].2, "the touched lead is not captured: {spread:?}");
    let moved: Vec<(String, String)> = sqlx::query_as(
        "SELECT capture_month::text, channel FROM funnel_month_cells \
         WHERE channel LIKE 'moved-%' ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    assert_eq!(
        moved,
        [
            ("2025-12-01".into(), "moved-across".into()),
            ("2026-01-01".into(), "moved-within".into())
        ]
    );
    // The lead moved within January moved from the block of the 15th to that of the 1st.
    let moved: Vec<(String, String)> = sqlx::query_as(
        "SELECT capture_block::text, channel FROM funnel_block_cells \
         WHERE channel LIKE 'moved-%' ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    assert_eq!(
        moved,
        [
            ("2025-12-22".into(), "moved-across".into()),
            ("2026-01-01".into(), "moved-within".into())
        ]
    );

    let dims = [
        vec![],
        vec![Dimension::Channel],
        vec![Dimension::Campaign],
        vec![Dimension::Region],
        vec![Dimension::Industry],
        vec![Dimension::Segment],
        vec![Dimension::CaptureMonth],
        vec![Dimension::Campaign, Dimension::Segment],
        vec![Dimension::Region, Dimension::Industry],
        vec![Dimension::CaptureMonth, Dimension::Channel],
        vec![Dimension::Channel, Dimension::CaptureMonth],
    ];
    // Fewer groupings for the many block edges below.
    let some_dims = [
        vec![],
        vec![Dimension::Channel],
        vec![Dimension::Campaign, Dimension::Segment],
        vec![Dimension::CaptureMonth, Dimension::Channel],
    ];
    let day = |y, m, d| Some(Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap());
    let cases = [
        // Month edges.
        (
            T,
            vec![
                None,
                day(2026, 3, 20),
                day(2026, 4, 1),
                day(2026, 4, 2),
                day(2026, 4, 30),
                day(2026, 5, 1),
                day(2026, 5, 16),
                day(2026, 5, 30),
                day(2026, 5, 31),
                day(2026, 6, 1),
                day(2026, 6, 30),
                day(2026, 7, 1),
                day(2026, 7, 9),
            ],
            &dims[..],
        ),
        (
            WINTER,
            vec![
                None,
                day(2025, 12, 1),
                day(2025, 12, 2),
                day(2025, 12, 17),
                day(2026, 1, 1),
                day(2026, 1, 2),
                day(2026, 1, 31),
                day(2026, 2, 1),
                day(2026, 2, 10),
            ],
            &dims[..],
        ),
        // Block edges: blocks' first days (the 8th, 15th, 22nd, 29th) and days 1–6 into a
        // block, in 30- and 31-day months and across a new year.
        (
            T,
            vec![
                None,
                day(2026, 4, 5),
                day(2026, 4, 8),
                day(2026, 4, 12),
                day(2026, 4, 15),
                day(2026, 4, 17),
                day(2026, 4, 29),
                day(2026, 5, 3),
                day(2026, 5, 10),
                day(2026, 5, 13),
                day(2026, 5, 22),
                day(2026, 5, 26),
                day(2026, 5, 29),
                day(2026, 6, 10),
                day(2026, 6, 20),
                day(2026, 6, 24),
            ],
            &some_dims[..],
        ),
        (
            WINTER,
            vec![
                None,
                day(2025, 12, 4),
                day(2025, 12, 22),
                day(2025, 12, 29),
                day(2025, 12, 30),
                day(2026, 1, 5),
                day(2026, 1, 8),
                day(2026, 1, 19),
                day(2026, 1, 29),
            ],
            &some_dims[..],
        ),
    ];
    let (mut compared, mut queries) = (0, 0);
    // How the ranges read their cells, counted once per range: every way must be exercised.
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for (tenant, bounds, dims) in &cases {
        for (i, d) in dims.iter().enumerate() {
            for from in bounds {
                for to in bounds {
                    let (from, to) = (*from, *to);
                    if i == 0 {
                        for kind in range_kinds(from, to) {
                            *kinds.entry(kind).or_default() += 1;
                        }
                    }
                    let cells = funnel(pool, tenant, d, from, to).await?;
                    let scan = funnel_from_leads(pool, tenant, d, from, to).await?;
                    assert_eq!(
                        cells, scan,
                        "{tenant}: funnel by {d:?} in [{from:?}, {to:?})"
                    );
                    compared += cells.len();
                    queries += 1;
                }
            }
        }
    }
    assert!(
        compared > 10_000,
        "the comparison covered {compared} groups in {queries} queries"
    );
    for kind in [
        "start month read whole",
        "end month read whole",
        "both edge months read whole",
        "blocks added",
        "blocks taken out",
        "days added",
        "days taken out",
        "block minus days",
        "inside one block",
        "across blocks inside one month",
        "mid-block start",
        "mid-block end",
    ] {
        assert!(
            kinds.get(kind).is_some_and(|n| *n > 0),
            "no {kind}: {kinds:?}"
        );
    }
    Ok(())
}

/// How the funnel reads `[from, to)` ([`CellRanges::split`]), as the names
/// `assert_funnel_cells` requires to be covered.
fn range_kinds(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Vec<&'static str> {
    use chrono::{Datelike, NaiveDate};
    use leadledger_projection::funnel::{block, month, CellRanges, Level};
    let (a, b) = (from.map(|t| t.date_naive()), to.map(|t| t.date_naive()));
    let mut kinds = Vec::new();
    if matches!((a, b), (Some(a), Some(b)) if a >= b) {
        return kinds;
    }
    let c = CellRanges::split(a, b);
    // An edge month read whole: the month range starts at the month of a bound not on a 1st,
    // or ends after it.
    let next_month = |m: NaiveDate| m.checked_add_months(chrono::Months::new(1));
    let start = a.is_some_and(|a| a.day() != 1 && c.months.from == Some(month(a)));
    let end = b.is_some_and(|b| b.day() != 1 && c.months.to == next_month(month(b)));
    let has = |level: Level, sign: i64| c.parts.iter().any(|p| p.level == level && p.sign == sign);
    for (yes, kind) in [
        (start, "start month read whole"),
        (end, "end month read whole"),
        (start && end, "both edge months read whole"),
        (has(Level::Block, 1), "blocks added"),
        (has(Level::Block, -1), "blocks taken out"),
        (has(Level::Day, 1), "days added"),
        (has(Level::Day, -1), "days taken out"),
        (
            has(Level::Block, 1) && has(Level::Day, -1),
            "block minus days",
        ),
    ] {
        if yes {
            kinds.push(kind);
        }
    }
    if let (Some(a), Some(b)) = (a, b) {
        let last = b.pred_opt().expect("b > a");
        if block(a) == block(last) {
            kinds.push("inside one block");
        } else if month(a) == month(last) {
            kinds.push("across blocks inside one month");
        }
    }
    if a.is_some_and(|a| block(a) != a) {
        kinds.push("mid-block start");
    }
    if b.is_some_and(|b| block(b) != b) {
        kinds.push("mid-block end");
    }
    kinds
}

fn follow_up(lead: &str, src: &str, when: DateTime<Utc>) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        when,
        P::FollowUpLogged(pb::FollowUpLogged {
            activity_type: pb::ActivityType::Call as i32,
            rep_id: "ann".into(),
            note: String::new(),
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_facts_turn_a_breach_into_met_late_then_met() -> anyhow::Result<()> {
    let env = TestEnv::start(1).await?;
    let mut ingest = env.ingest().await?;
    let follow_up_clock = |rows: &BTreeMap<String, Vec<ClockRow>>| {
        rows["l1"]
            .iter()
            .find(|c| c.0 == "mql-follow-up")
            .cloned()
            .expect("a follow-up clock")
    };
    // Monday 2 March 2026, 10:00 UTC: 24 business hours (Mon–Fri 09–18: 8 h on Monday, 9 on
    // Tuesday, 7 on Wednesday) end on Wednesday 4 March at 16:00.
    let mql_at = at(3, 2, 10);
    append(
        &mut ingest,
        T,
        vec![
            captured("l1", "c1", at(3, 2, 9), "webinar"),
            mql("l1", "m1", mql_at),
        ],
    )
    .await?;
    env.wait_caught_up(Duration::from_secs(30)).await?;
    let c = follow_up_clock(&stored_clocks(&env, Some("l1")).await?);
    assert_eq!(c.5, "running");
    assert_eq!(c.4, at(3, 4, 16), "due after 24 business hours");

    // The rep's call on Thursday is recorded: the clock was met late.
    append(&mut ingest, T, vec![follow_up("l1", "f1", at(3, 5, 10))]).await?;
    env.wait_caught_up(Duration::from_secs(30)).await?;
    let c = follow_up_clock(&stored_clocks(&env, Some("l1")).await?);
    assert_eq!(
        (c.5.as_str(), c.6, c.7),
        ("met_late", Some(at(3, 5, 10)), Some(at(3, 4, 16)))
    );

    // An earlier call on Tuesday arrives late from another system: business time wins.
    append(&mut ingest, T, vec![follow_up("l1", "f0", at(3, 3, 11))]).await?;
    env.wait_caught_up(Duration::from_secs(30)).await?;
    let c = follow_up_clock(&stored_clocks(&env, Some("l1")).await?);
    assert_eq!((c.5.as_str(), c.6, c.7), ("met", Some(at(3, 3, 11)), None));
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_is_measured_with_its_own_calendar() -> anyhow::Result<()> {
    // Shanghai: 09:00–12:00 and 13:00–18:00 local (UTC+8), the rest as the defaults.
    let shanghai = r#"
version = 1
[calendar]
time_zone = "Asia/Shanghai"
[calendar.hours]
mon = ["09:00-12:00", "13:00-18:00"]
tue = ["09:00-12:00", "13:00-18:00"]
wed = ["09:00-12:00", "13:00-18:00"]
thu = ["09:00-12:00", "13:00-18:00"]
fri = ["09:00-12:00", "13:00-18:00"]
[[policy]]
id = "mql-follow-up"
start = ["mql_qualified", "handed_off"]
target = ["follow_up_logged"]
allowance = "24h"
business_time = true
"#;
    let sh = PolicySet::from_toml(shanghai)?;
    let mut env = TestEnv::start(2).await?;
    env.stop_projector().await?;
    let mut tenants = leadledger_sla::TenantPolicies::default();
    tenants.tenants.insert("sh".into(), sh.clone());
    env.derive = std::sync::Arc::new(leadledger_projection::Derivations { sla: tenants });
    env.start_projector();

    let mql_at = at(3, 2, 10);
    let mut ingest = env.ingest().await?;
    for tenant in ["acme", "sh"] {
        append(
            &mut ingest,
            tenant,
            vec![
                captured("l1", "c1", at(3, 2, 9), "webinar"),
                mql("l1", "m1", mql_at),
            ],
        )
        .await?;
    }
    env.wait_caught_up(Duration::from_secs(30)).await?;
    let due: BTreeMap<String, DateTime<Utc>> = sqlx::query_as(
        "SELECT tenant_id, due_at FROM sla_clocks WHERE policy_id = 'mql-follow-up'",
    )
    .fetch_all(&env.store.pool)
    .await?
    .into_iter()
    .collect();
    let defaults = PolicySet::defaults();
    let want = |set: &PolicySet| {
        set.get("mql-follow-up")
            .expect("policy")
            .due_at(&set.calendar, mql_at)
    };
    assert_eq!(due["acme"], want(&defaults));
    assert_eq!(due["sh"], want(&sh));
    assert_ne!(due["acme"], due["sh"], "the calendars differ");
    // Only the Shanghai tenant's file applies to it: it has one policy, acme has five.
    let policies: Vec<(String, i64)> =
        sqlx::query_as("SELECT tenant_id, count(*) FROM sla_clocks GROUP BY 1 ORDER BY 1")
            .fetch_all(&env.store.pool)
            .await?;
    assert_eq!(policies, vec![("acme".into(), 2), ("sh".into(), 1)]);
    env.cleanup().await
}
