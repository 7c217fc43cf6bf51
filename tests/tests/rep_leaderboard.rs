//! `SlaService.RepLeaderboard` against an independent computation (issue 17: it was
//! exercised by no test): a simulated quarter, each lead's owner, furthest stage, signed
//! amount and feedback from `GetLead`, its follow-up clocks from the pure SLA evaluation of
//! its stored timeline, aggregated per rep as docs/SLA.md defines the leaderboard.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use leadledger_api::convert::{time_from_proto, time_to_proto};
use leadledger_api::pb::{self, sla_service_client::SlaServiceClient};
use leadledger_domain::{fold, Event, Stage};
use leadledger_e2e::workload::{every_lead, quarter, TENANT as T};
use leadledger_e2e::{close, TestEnv};
use leadledger_sla::{evaluate, ClockState, PolicySet};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leaderboard_equals_an_independent_computation() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let token = quarter(&env, 43, 600, Vec::new()).await?;
    let mut q = env.query().await?;
    let leads = every_lead(&mut q).await?;
    // Before the quarter's last captures, so some clocks are still open and some leads not
    // captured yet.
    let as_of = Utc.with_ymd_and_hms(2026, 6, 20, 12, 0, 0).unwrap();

    let events = leadledger_store::timeline::of_tenant(&env.store.pool, T, None, None).await?;
    let mut by_lead: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for e in events {
        by_lead.entry(e.lead_id.clone()).or_default().push(e);
    }
    let set = PolicySet::defaults();
    let mut want: BTreeMap<String, Line> = BTreeMap::new();
    for got in &leads {
        let lead = got.lead.clone().expect("a lead");
        let owner = lead.owner.clone().unwrap_or_default();
        let captured = lead.captured_at.as_ref().and_then(time_from_proto);
        if owner.rep_id.is_empty() || captured.is_none_or(|c| c > as_of) {
            continue;
        }
        let reached = lead
            .visits
            .iter()
            .filter_map(|v| Stage::from_number(v.stage).and_then(Stage::rank))
            .max()
            .unwrap_or(0);
        let line = want.entry(owner.rep_id.clone()).or_default();
        line.teams.push(owner.team.clone());
        line.leads += 1;
        line.sqls += i64::from(reached >= 3);
        line.signed += i64::from(reached >= 5);
        if reached >= 5 && lead.signed_currency == "CNY" {
            line.revenue += lead.signed_amount_minor;
        }
        line.owed += i64::from(lead.feedback_required);
        line.filled += i64::from(lead.feedback_filled);
        let evs = &by_lead[&lead.lead_id];
        let st = fold(evs);
        let clocks = evaluate(
            &set.policies,
            &set.calendar,
            evs,
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
    assert!(want.len() > 5, "the quarter has reps: {}", want.len());
    let (clocks, met): (i64, i64) = want
        .values()
        .map(|l| (l.clocks, l.met))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert!(
        clocks > met && met > 5,
        "clocks met and missed: {met} of {clocks}"
    );

    let mut sla = SlaServiceClient::connect(format!("http://{}", env.addr)).await?;
    let got = sla
        .rep_leaderboard(pb::RepLeaderboardRequest {
            tenant_id: T.into(),
            as_of: Some(time_to_proto(as_of)),
            consistency_token: token,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(got.currency, "CNY");
    assert_eq!(got.reps.len(), want.len());
    for r in &got.reps {
        let w = &want[&r.rep_id];
        let compliance = (w.clocks > 0).then(|| 100.0 * (w.met as f64 / w.clocks as f64));
        let feedback = (w.owed > 0).then(|| 100.0 * (w.filled as f64 / w.owed as f64));
        assert_eq!(
            (r.leads, r.sqls, r.signed, r.revenue_minor, r.clocks, r.met),
            (w.leads, w.sqls, w.signed, w.revenue, w.clocks, w.met),
            "{}",
            r.rep_id
        );
        assert_eq!(Some(&r.team), w.teams.iter().min(), "{}", r.rep_id);
        assert!(
            close(r.compliance_pct, compliance),
            "{r:?} vs {compliance:?}"
        );
        assert!(close(r.feedback_pct, feedback), "{r:?} vs {feedback:?}");
        assert!(
            close(r.median_follow_up_hours, median(w.hours.clone())),
            "{r:?} vs {:?}",
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
        "{order:?}"
    );
    env.cleanup().await
}
