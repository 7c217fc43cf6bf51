//! The documented BI views that no other test holds to an independent computation (issue 17
//! item 7): `funnel_counts`, `lead_velocity` and `account_ownership_conflicts`, each
//! compared row for row with what a simulated quarter's leads, read one by one through
//! `GetLead`, say. (`stage_stays`, `lead_cohorts`: analytics.rs; `lead_exits`: reasons.rs;
//! `attribution_credits_by_model`: credits.rs; `ownership_audit`: routing.rs.)

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use leadledger_api::convert::time_from_proto;
use leadledger_api::pb::{self, event::Payload as P};
use leadledger_domain::Stage;
use leadledger_e2e::events::{accepted, at, captured, event, mql};
use leadledger_e2e::workload::{every_lead, quarter, TENANT as T};
use leadledger_e2e::TestEnv;

fn time(t: &Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(time_from_proto)
}

fn segment(n: i32) -> String {
    match pb::Segment::try_from(n) {
        Ok(pb::Segment::Ka) => "KA".into(),
        Ok(pb::Segment::Smb) => "SMB".into(),
        _ => String::new(),
    }
}

/// Seconds between two instants, when both are there (an interval column read as epoch).
fn secs(to: Option<DateTime<Utc>>, from: Option<DateTime<Utc>>) -> Option<f64> {
    Some((to? - from?).num_microseconds()? as f64 / 1e6)
}

/// The funnel key of a capture: date, channel, campaign, region, industry, segment.
type FunnelKey = (String, String, String, String, String, String);
/// A lead's intervals: captured→MQL, MQL→SQL, SQL→POC, →signed, MQL→first follow-up.
type Intervals = [Option<f64>; 5];
/// A `funnel_counts` row: the key's six columns, then captured, MQL, SQL, POC, signed.
type FunnelRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
);
/// A `lead_velocity` row: lead, then the intervals in seconds.
type VelocityRow = (
    String,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn funnel_counts_lead_velocity_and_conflicts_equal_the_leads() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    // An account contested by two reps (its domain written in two cases), and a third lead
    // of it that left the main line (not open: no conflict of its own).
    let of_account = |lead: &str, domain: &str| {
        let mut e = captured(lead, &format!("c-{lead}"), at(4, 2, 9), "crafted");
        if let Some(P::LeadCaptured(c)) = e.payload.as_mut() {
            c.company.as_mut().expect("a company").domain = domain.into();
        }
        e
    };
    let crafted = vec![
        of_account("X-a", "Contested.example"),
        mql("X-a", "m-a", at(4, 3, 9)),
        accepted("X-a", "a-a", at(4, 4, 9), "rep-a"),
        of_account("X-b", "contested.example"),
        mql("X-b", "m-b", at(4, 3, 9)),
        accepted("X-b", "a-b", at(4, 4, 9), "rep-b"),
        of_account("X-c", "contested.example"),
        mql("X-c", "m-c", at(4, 3, 9)),
        accepted("X-c", "a-c", at(4, 4, 9), "rep-c"),
        event(
            "X-c",
            "salesforce",
            "l-c",
            at(4, 9, 9),
            P::Lost(pb::Lost {
                code: pb::LossReason::Price as i32,
                ..Default::default()
            }),
        ),
    ];
    quarter(&env, 41, 300, crafted).await?;
    let mut q = env.query().await?;
    let leads = every_lead(&mut q).await?;
    assert_eq!(leads.len(), 303);

    let mut funnel: BTreeMap<FunnelKey, [i64; 5]> = BTreeMap::new();
    let mut velocity: BTreeMap<String, Intervals> = BTreeMap::new();
    let mut accounts: BTreeMap<String, (BTreeSet<String>, i64)> = BTreeMap::new();
    for got in &leads {
        let lead = got.lead.clone().expect("a lead");
        let source = lead.source.clone().unwrap_or_default();
        let company = lead.company.clone().unwrap_or_default();
        let captured = time(&lead.captured_at).expect("every simulated lead is captured");
        // First entry into each main-line stage, and the furthest one reached.
        let mut first: [Option<DateTime<Utc>>; 5] = [None; 5];
        let mut reached = 0;
        for v in &lead.visits {
            let stage = Stage::from_number(v.stage).expect("a known stage");
            if let Some(r) = stage.rank() {
                let r = usize::from(r);
                first[r - 1].get_or_insert(time(&v.entered_at).expect("entered"));
                reached = reached.max(r);
            }
        }
        let counts = funnel
            .entry((
                captured.date_naive().to_string(),
                source.channel.clone(),
                source.campaign.clone(),
                company.region.clone(),
                company.industry.clone(),
                segment(company.segment),
            ))
            .or_default();
        for (rank, n) in counts.iter_mut().enumerate() {
            if reached > rank {
                *n += 1;
            }
        }
        let first_follow_up = got
            .timeline
            .iter()
            .filter_map(|t| t.event.as_ref())
            .filter(|e| matches!(e.payload, Some(P::FollowUpLogged(_))))
            .filter_map(|e| time(&e.occurred_at))
            .min();
        let [_, mql, sql, poc, signed] = first;
        velocity.insert(
            lead.lead_id.clone(),
            [
                secs(mql, Some(captured)),
                secs(sql, mql),
                secs(poc, sql),
                secs(signed, poc.or(sql)),
                secs(first_follow_up, mql),
            ],
        );
        let stage = Stage::from_number(lead.stage).expect("a stage");
        let rep = lead.owner.clone().unwrap_or_default().rep_id;
        let domain = company.domain.to_lowercase();
        if !domain.is_empty() && !rep.is_empty() && stage.rank().is_some_and(|r| r <= 4) {
            let a = accounts.entry(domain).or_default();
            a.0.insert(rep);
            a.1 += 1;
        }
    }
    accounts.retain(|_, (reps, _)| reps.len() > 1);
    assert_eq!(
        accounts.get("contested.example"),
        Some(&(["rep-a".to_string(), "rep-b".to_string()].into(), 2))
    );

    let rows: Vec<FunnelRow> = sqlx::query_as(
        "SELECT capture_date::text, channel, campaign, region, industry, segment, captured, \
         mql, sql, poc, signed FROM funnel_counts WHERE tenant_id = $1",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    let view: BTreeMap<FunnelKey, [i64; 5]> = rows
        .into_iter()
        .map(|r| ((r.0, r.1, r.2, r.3, r.4, r.5), [r.6, r.7, r.8, r.9, r.10]))
        .collect();
    assert_eq!(view, funnel, "funnel_counts");

    let rows: Vec<VelocityRow> = sqlx::query_as(
        "SELECT lead_id, extract(epoch FROM captured_to_mql)::float8, \
             extract(epoch FROM mql_to_sql)::float8, extract(epoch FROM sql_to_poc)::float8, \
             extract(epoch FROM to_signed)::float8, \
             extract(epoch FROM mql_to_first_follow_up)::float8 \
             FROM lead_velocity WHERE tenant_id = $1",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    let view: BTreeMap<String, Intervals> = rows
        .into_iter()
        .map(|(l, a, b, c, d, e)| (l, [a, b, c, d, e]))
        .collect();
    assert_eq!(view, velocity, "lead_velocity");
    assert!(
        velocity.values().any(|v| v.iter().all(Option::is_some)),
        "some lead has every interval"
    );

    let rows: Vec<(String, Vec<String>, i64)> = sqlx::query_as(
        "SELECT company_domain, reps, open_leads FROM account_ownership_conflicts \
         WHERE tenant_id = $1",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    let view: BTreeMap<String, (BTreeSet<String>, i64)> = rows
        .into_iter()
        .map(|(d, reps, n)| {
            let sorted: Vec<String> = {
                let mut r = reps.clone();
                r.sort();
                r
            };
            assert_eq!(reps, sorted, "reps in order");
            (d, (reps.into_iter().collect(), n))
        })
        .collect();
    assert_eq!(view, accounts, "account_ownership_conflicts");
    env.cleanup().await
}

/// A `sla_clock_states` row: lead, policy, start event, state now, owner team, rep, partner,
/// segment, region, channel.
type ClockStateRow = (
    String,
    String,
    uuid::Uuid,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_clock_states_equal_the_pure_evaluation_now() -> anyhow::Result<()> {
    use leadledger_sla::{evaluate, ClockState, PolicySet};
    let env = TestEnv::start(2).await?;
    // A lead qualified an hour ago and one a day ago, so "now" finds clocks still running
    // besides the quarter's (long breached or ended).
    let now = Utc::now();
    let mut fresh = Vec::new();
    for (lead, ago) in [("X-hour", 1), ("X-day", 26)] {
        let t = now - chrono::Duration::hours(ago);
        fresh.push(captured(lead, &format!("c-{lead}"), t, "crafted"));
        fresh.push(mql(lead, &format!("m-{lead}"), t));
    }
    quarter(&env, 47, 200, fresh).await?;
    let mut q = env.query().await?;
    let leads: BTreeMap<String, pb::Lead> = every_lead(&mut q)
        .await?
        .into_iter()
        .filter_map(|g| g.lead)
        .map(|l| (l.lead_id.clone(), l))
        .collect();

    // The view and its `now()` in one transaction (now() is the transaction's start).
    let mut tx = env.store.pool.begin().await?;
    let at: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *tx)
        .await?;
    let rows: Vec<ClockStateRow> = sqlx::query_as(
        "SELECT lead_id, policy_id, start_event_id, state_now, owner_team, owner_rep_id, \
         owner_partner_id, segment, region, channel FROM sla_clock_states WHERE tenant_id = $1",
    )
    .bind(T)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let view: BTreeSet<ClockStateRow> = rows.into_iter().collect();

    let events = leadledger_store::timeline::of_tenant(&env.store.pool, T, None, None).await?;
    let mut by_lead: BTreeMap<String, Vec<leadledger_domain::Event>> = BTreeMap::new();
    for e in events {
        by_lead.entry(e.lead_id.clone()).or_default().push(e);
    }
    let set = PolicySet::defaults();
    let mut want = BTreeSet::new();
    let mut states: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (lead, evs) in &by_lead {
        let l = &leads[lead];
        let owner = l.owner.clone().unwrap_or_default();
        let company = l.company.clone().unwrap_or_default();
        let st = leadledger_domain::fold(evs);
        for c in evaluate(&set.policies, &set.calendar, evs, &st, at) {
            let state = match c.state {
                ClockState::Open => "open",
                ClockState::AtRisk => "at_risk",
                ClockState::Breached { .. } => "breached",
                ClockState::Met { .. } => "met",
                ClockState::MetLate { .. } => "met_late",
                ClockState::Stopped { .. } => "stopped",
                ClockState::Paused { .. } => "paused",
            };
            *states.entry(state).or_default() += 1;
            want.insert((
                lead.clone(),
                c.policy_id.clone(),
                c.start_event_id,
                state.to_string(),
                owner.team.clone(),
                owner.rep_id.clone(),
                owner.partner_id.clone(),
                segment(company.segment),
                company.region.clone(),
                l.source.clone().unwrap_or_default().channel,
            ));
        }
    }
    assert!(
        ["met", "breached", "stopped"]
            .iter()
            .all(|s| states.contains_key(s))
            && (states.contains_key("open") || states.contains_key("at_risk")),
        "every kind of state now: {states:?}"
    );
    assert_eq!(view, want, "sla_clock_states");
    env.cleanup().await
}
