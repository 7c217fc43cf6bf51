//! `SlaService.RepLeaderboard` against an independent computation (issue 17: it was
//! exercised by no test, and for a past `as_of` it used each lead's current owner): a
//! simulated quarter; each lead's owner, furthest stage, signed amount and feedback from the
//! pure fold of its stored timeline — the whole timeline for the leaderboard now, only the
//! facts that had happened by `as_of` for a past one — its follow-up clocks from the pure SLA
//! evaluation of the same events, aggregated per rep as docs/SLA.md defines the
//! leaderboard.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::{self, sla_service_client::SlaServiceClient};
use leadledger_domain::{fold, Event};
use leadledger_e2e::workload::{quarter, TENANT as T};
use leadledger_e2e::{close, TestEnv};
use leadledger_sla::{evaluate, lead_feedback, ClockState, PolicySet};

const POLICY: &str = "mql-follow-up";

/// One rep's expected line.
#[derive(Debug, Default)]
struct Line {
    teams: Vec<String>,
    leads: i64,
    sqls: i64,
    signed: i64,
    revenue: i64,
    clocks: i64,
    met: i64,
    hours: Vec<f64>,
    owed: i64,
    filled: i64,
}

/// `percentile_cont(0.5)`: the mean of the two middle values of an even sample.
fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

/// The expected lines at `as_of`: every lead folded from its events that had happened by
/// `as_of` (all of them when `past` is false: the leaderboard of now).
fn expected(
    by_lead: &BTreeMap<String, Vec<Event>>,
    as_of: DateTime<Utc>,
    past: bool,
) -> BTreeMap<String, Line> {
    let set = PolicySet::defaults();
    let mut want: BTreeMap<String, Line> = BTreeMap::new();
    for all in by_lead.values() {
        let evs: Vec<Event> = all
            .iter()
            .filter(|e| !past || e.occurred_at <= as_of)
            .cloned()
            .collect();
        if evs.is_empty() {
            continue;
        }
        let st = fold(&evs);
        if st.owner.rep_id.is_empty() || st.captured_at.is_none_or(|c| c > as_of) {
            continue;
        }
        let line = want.entry(st.owner.rep_id.clone()).or_default();
        line.teams.push(st.owner.team.clone());
        line.leads += 1;
        line.sqls += i64::from(st.max_rank >= 3);
        line.signed += i64::from(st.max_rank >= 5);
        if st.max_rank >= 5 && st.signed_currency == "CNY" {
            line.revenue += st.signed_amount_minor;
        }
        let f = lead_feedback(&evs, &set.feedback);
        line.owed += i64::from(f.required);
        line.filled += i64::from(f.filled);
        let clocks = evaluate(
            &set.policies,
            &set.calendar,
            &evs,
            &st,
            DateTime::<Utc>::MAX_UTC,
        );
        for c in clocks
            .iter()
            .filter(|c| c.policy_id == POLICY && c.started_at <= as_of)
        {
            let ended = match &c.state {
                ClockState::Met { at } => Some((*at, "met", None)),
                ClockState::MetLate { at, breached_at } => {
                    Some((*at, "met_late", Some(*breached_at)))
                }
                ClockState::Stopped {
                    at, breached_at, ..
                } => Some((*at, "stopped", *breached_at)),
                _ => None,
            };
            let (state, breached) = match ended {
                Some((at, status, breached)) if at <= as_of => (status, breached),
                _ if as_of > c.due_at => ("breached", None),
                _ => ("open", None),
            };
            if matches!(state, "met" | "met_late" | "breached")
                || (state == "stopped" && breached.is_some())
            {
                line.clocks += 1;
            }
            line.met += i64::from(state == "met");
            if let Some((at, "met" | "met_late", _)) = ended.filter(|e| e.0 <= as_of) {
                line.hours
                    .push((at - c.started_at).num_microseconds().unwrap() as f64 / 3.6e9);
            }
        }
    }
    want
}

/// The leaderboard answer equals `want`, line by line, in its documented order.
fn assert_lines(got: &pb::RepLeaderboardResponse, want: &BTreeMap<String, Line>, what: &str) {
    assert!(
        want.len() > 5,
        "{what}: the quarter has reps: {}",
        want.len()
    );
    let (clocks, met): (i64, i64) = want
        .values()
        .map(|l| (l.clocks, l.met))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert!(
        clocks > met && met > 5,
        "{what}: clocks met and missed: {met} of {clocks}"
    );
    assert_eq!(got.currency, "CNY");
    assert_eq!(got.reps.len(), want.len(), "{what}");
    for r in &got.reps {
        let w = &want[&r.rep_id];
        let compliance = (w.clocks > 0).then(|| 100.0 * (w.met as f64 / w.clocks as f64));
        let feedback = (w.owed > 0).then(|| 100.0 * (w.filled as f64 / w.owed as f64));
        assert_eq!(
            (r.leads, r.sqls, r.signed, r.revenue_minor, r.clocks, r.met),
            (w.leads, w.sqls, w.signed, w.revenue, w.clocks, w.met),
            "{what}: {}",
            r.rep_id
        );
        assert_eq!(Some(&r.team), w.teams.iter().min(), "{what}: {}", r.rep_id);
        assert!(
            close(r.compliance_pct, compliance),
            "{what}: {r:?} vs {compliance:?}"
        );
        assert!(
            close(r.feedback_pct, feedback),
            "{what}: {r:?} vs {feedback:?}"
        );
        assert!(
            close(r.median_follow_up_hours, median(w.hours.clone())),
            "{what}: {r:?} vs {:?}",
            w.hours
        );
    }
    // By revenue, then compliance, then rep.
    let order: Vec<(i64, f64, &str)> = got
        .reps
        .iter()
        .map(|r| {
            (
                -r.revenue_minor,
                -r.compliance_pct.unwrap_or(0.0),
                r.rep_id.as_str(),
            )
        })
        .collect();
    assert!(
        order.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)
            || ((w[0].0, w[0].1) == (w[1].0, w[1].1) && w[0].2 < w[1].2)),
        "{what}: {order:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leaderboard_equals_an_independent_computation() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let token = quarter(&env, 43, 600, Vec::new()).await?;
    let events = leadledger_store::timeline::of_tenant(&env.store.pool, T, None, None).await?;
    let mut by_lead: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for e in events {
        by_lead.entry(e.lead_id.clone()).or_default().push(e);
    }
    let mut sla = SlaServiceClient::connect(format!("http://{}", env.addr)).await?;

    // Now, over the read models.
    let now = Utc::now();
    let got = sla
        .rep_leaderboard(pb::RepLeaderboardRequest {
            tenant_id: T.into(),
            consistency_token: token.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let answered = got
        .as_of
        .as_ref()
        .and_then(leadledger_api::convert::time_from_proto);
    assert!(answered.is_some_and(|t| t >= now), "{:?}", got.as_of);
    assert_lines(&got, &expected(&by_lead, now, false), "now");

    // Before the quarter's last captures, so some clocks are still open and some leads not
    // captured yet: every lead as it was then (its owner then, not now).
    let as_of = Utc.with_ymd_and_hms(2026, 6, 20, 12, 0, 0).unwrap();
    let got = sla
        .rep_leaderboard(pb::RepLeaderboardRequest {
            tenant_id: T.into(),
            as_of: Some(time_to_proto(as_of)),
            consistency_token: token,
            ..Default::default()
        })
        .await?
        .into_inner();
    let then = expected(&by_lead, as_of, true);
    assert_lines(&got, &then, "as of 2026-06-20");
    // Not the same as counting today's owners at that instant.
    let today = expected(&by_lead, as_of, false);
    let moved = then
        .iter()
        .filter(|(rep, l)| today.get(*rep).is_none_or(|t| t.leads != l.leads))
        .count();
    println!(
        "as of {as_of}: {} reps, {moved} with other leads than today's owners give",
        then.len()
    );
    env.cleanup().await
}
