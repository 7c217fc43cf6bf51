//! The hand-off sections of `leadledger report --sla`: SLA compliance per policy, the rep
//! leaderboard and partner leakage, at an instant (the end of a simulated quarter in
//! `make run`).

use chrono::{DateTime, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::{self, sla_service_client::SlaServiceClient};

use super::output::{Cell, Section};
use super::Ask;

/// The three sections for `tenant` at `as_of`, and with `what_if` (a candidate policy file's
/// text) a fourth: each policy's compliance under the live file and under the candidate,
/// over the clocks started in the 92 days before `as_of`.
pub async fn sections(
    ask: &Ask,
    as_of: DateTime<Utc>,
    what_if: Option<&str>,
) -> anyhow::Result<Vec<Section>> {
    let (channel, tenant, token, wait) = ask.parts();
    let mut client = SlaServiceClient::new(channel);
    let mut req = tonic::Request::new(pb::SlaReportRequest {
        tenant_id: tenant.into(),
        as_of: Some(time_to_proto(as_of)),
        group_by: pb::SlaGroupBy::Policy as i32,
        page_size: 1,
        consistency_token: token.into(),
        ..Default::default()
    });
    req.set_timeout(wait);
    let report = client
        .sla_report(req)
        .await
        .map_err(|s| anyhow::anyhow!("SLA report failed: {s}"))?
        .into_inner();
    let mut out = vec![compliance(&report, as_of)];

    let mut req = tonic::Request::new(pb::RepLeaderboardRequest {
        tenant_id: tenant.into(),
        as_of: Some(time_to_proto(as_of)),
        consistency_token: token.into(),
        ..Default::default()
    });
    req.set_timeout(wait);
    let board = client
        .rep_leaderboard(req)
        .await
        .map_err(|s| anyhow::anyhow!("rep leaderboard failed: {s}"))?
        .into_inner();
    out.push(leaderboard(&board, 12));

    let mut req = tonic::Request::new(pb::PartnerLeakageRequest {
        tenant_id: tenant.into(),
        as_of: Some(time_to_proto(as_of)),
        max_lead_ids: 1,
        consistency_token: token.into(),
        ..Default::default()
    });
    req.set_timeout(wait);
    let leakage = client
        .partner_leakage(req)
        .await
        .map_err(|s| anyhow::anyhow!("partner leakage failed: {s}"))?
        .into_inner();
    out.push(leakage_section(&leakage));

    if let Some(candidate) = what_if {
        let mut req = tonic::Request::new(pb::SlaWhatIfRequest {
            tenant_id: tenant.into(),
            policy_file: candidate.into(),
            as_of: Some(time_to_proto(as_of)),
            started_from: Some(time_to_proto(as_of - chrono::Duration::days(WHAT_IF_DAYS))),
            started_to: Some(time_to_proto(as_of)),
            consistency_token: token.into(),
            ..Default::default()
        });
        req.set_timeout(wait);
        let r = client
            .sla_what_if(req)
            .await
            .map_err(|s| anyhow::anyhow!("SLA what-if failed: {s}"))?
            .into_inner();
        out.push(what_if_section(&r));
    }
    Ok(out)
}

/// The what-if's window: clocks started this many days before `as_of` (a quarter).
const WHAT_IF_DAYS: i64 = 92;

/// Per policy: compliance and breaches under the live file and under the candidate.
fn what_if_section(r: &pb::SlaWhatIfResponse) -> Section {
    let mut s = Section::new(
        "sla_whatif",
        format!(
            "What-if: a candidate policy file over the clocks started in the last {WHAT_IF_DAYS} \
             days ({} leads)",
            r.leads
        ),
        &[
            "policy",
            "live_version",
            "candidate_version",
            "live_compliance",
            "candidate_compliance",
            "change_points",
            "live_breaches",
            "candidate_breaches",
            "breaches_change",
        ],
    )
    .note(
        "version 0: the file has no such policy; breaches = breached + met late + stopped \
         after the due time. Nothing live changes (SlaWhatIf).",
    );
    let breaches = |g: Option<&pb::SlaReportGroup>| {
        g.map_or(0, |g| g.breached + g.met_late + g.stopped_breached)
    };
    for d in &r.differences {
        let (live, cand) = (d.live.as_ref(), d.candidate.as_ref());
        s.rows.push(vec![
            Cell::Text(d.policy_id.clone()),
            Cell::Int(i64::from(d.live_version)),
            Cell::Int(i64::from(d.candidate_version)),
            share(live.and_then(|g| g.compliance_pct)),
            share(cand.and_then(|g| g.compliance_pct)),
            num(d.compliance_change_points),
            Cell::Int(breaches(live)),
            Cell::Int(breaches(cand)),
            Cell::Int(d.breaches_change),
        ]);
    }
    s
}

/// A percentage the API gives as 0–100, as a share.
fn share(pct: Option<f64>) -> Cell {
    Cell::Share(pct.map(|p| p / 100.0))
}

fn num(x: Option<f64>) -> Cell {
    x.map_or(Cell::None, |v| Cell::Num(v, 1))
}

/// Compliance per policy.
fn compliance(r: &pb::SlaReportResponse, as_of: DateTime<Utc>) -> Section {
    let mut s = Section::new(
        "sla_compliance",
        format!("SLA compliance at {}", as_of.format("%Y-%m-%d %H:%M UTC")),
        &[
            "policy",
            "clocks",
            "met",
            "met_late",
            "breached",
            "stopped_late",
            "running",
            "compliance",
            "median_hours",
            "p90_hours",
        ],
    )
    .note(
        "compliance = met / (met + met late + breached + stopped after the due time); \
         hours are elapsed time from start to target.",
    );
    for g in &r.groups {
        s.rows.push(vec![
            Cell::Text(g.policy_id.clone()),
            Cell::Int(g.clocks),
            Cell::Int(g.met),
            Cell::Int(g.met_late),
            Cell::Int(g.breached),
            Cell::Int(g.stopped_breached),
            Cell::Int(g.open + g.at_risk + g.paused),
            share(g.compliance_pct),
            num(g.median_seconds_to_target.map(|x| x / 3600.0)),
            num(g.p90_seconds_to_target.map(|x| x / 3600.0)),
        ]);
    }
    s
}

/// The top `n` reps.
fn leaderboard(r: &pb::RepLeaderboardResponse, n: usize) -> Section {
    let mut s = Section::new(
        "rep_leaderboard",
        format!(
            "Rep leaderboard (top {n} of {}, revenue in {})",
            r.reps.len(),
            r.currency
        ),
        &[
            "rep",
            "team",
            "leads",
            "sql",
            "signed",
            "revenue",
            "follow_up",
            "median_follow_up_hours",
            "feedback",
        ],
    )
    .note(
        "follow_up = share of the rep's follow-up clocks met in time; feedback = filled / owed \
         stage feedback fields.",
    );
    for l in r.reps.iter().take(n) {
        s.rows.push(vec![
            Cell::Text(l.rep_id.clone()),
            Cell::Text(l.team.clone()),
            Cell::Int(l.leads),
            Cell::Int(l.sqls),
            Cell::Int(l.signed),
            Cell::Num(l.revenue_minor as f64 / 100.0, 2),
            share(l.compliance_pct),
            num(l.median_follow_up_hours),
            share(l.feedback_pct),
        ]);
    }
    s
}

/// Leakage per partner.
fn leakage_section(r: &pb::PartnerLeakageResponse) -> Section {
    let mut s = Section::new(
        "partner_leakage",
        "Partner leakage (no follow-up and no outcome after 14 days)",
        &["partner", "held", "leaked", "leakage"],
    );
    if r.partners.is_empty() {
        s = s.note("(no partner holds leads that long)");
    }
    for p in &r.partners {
        s.rows.push(vec![
            Cell::Text(p.partner_id.clone()),
            Cell::Int(p.handed_off),
            Cell::Int(p.leaked),
            Cell::Share(Some(p.leakage_pct / 100.0)),
        ]);
    }
    s
}
