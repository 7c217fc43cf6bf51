//! The hand-off part of `leadledger report --sla`: SLA compliance per policy, the rep
//! leaderboard and partner leakage, at an instant (the end of a simulated quarter in
//! `make run`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::{self, sla_service_client::SlaServiceClient};
use leadledger_grpc::auth::client::KeyedChannel;

/// Prints the three sections for `tenant` at `as_of`.
pub async fn run(
    channel: KeyedChannel,
    tenant: &str,
    token: &str,
    as_of: DateTime<Utc>,
    wait: Duration,
) -> anyhow::Result<()> {
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
    print!("\n{}", render_compliance(&report, as_of));

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
    print!("\n{}", render_leaderboard(&board, 12));

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
    print!("\n{}", render_leakage(&leakage));
    Ok(())
}

fn opt(x: Option<f64>, unit: &str) -> String {
    x.map_or_else(|| "—".to_string(), |v| format!("{v:.1}{unit}"))
}

/// Compliance per policy.
pub fn render_compliance(r: &pb::SlaReportResponse, as_of: DateTime<Utc>) -> String {
    let mut out = format!("SLA compliance at {}\n", as_of.format("%Y-%m-%d %H:%M UTC"));
    out.push_str(&format!(
        "{:<18} {:>7} {:>6} {:>8} {:>8} {:>8} {:>8} {:>10} {:>9} {:>9}\n",
        "policy",
        "clocks",
        "met",
        "met late",
        "breached",
        "stopped*",
        "running",
        "compliance",
        "median h",
        "p90 h"
    ));
    for g in &r.groups {
        out.push_str(&format!(
            "{:<18} {:>7} {:>6} {:>8} {:>8} {:>8} {:>8} {:>10} {:>9} {:>9}\n",
            g.policy_id,
            g.clocks,
            g.met,
            g.met_late,
            g.breached,
            g.stopped_breached,
            g.open + g.at_risk,
            opt(g.compliance_pct, "%"),
            opt(g.median_seconds_to_target.map(|s| s / 3600.0), ""),
            opt(g.p90_seconds_to_target.map(|s| s / 3600.0), ""),
        ));
    }
    out.push_str(
        "compliance = met / (met + met late + breached + stopped* after the due time); \
         hours are elapsed time from start to target.\n",
    );
    out
}

/// The top `n` reps.
pub fn render_leaderboard(r: &pb::RepLeaderboardResponse, n: usize) -> String {
    let mut out = format!(
        "Rep leaderboard (top {n} of {}, revenue in {})\n",
        r.reps.len(),
        r.currency
    );
    out.push_str(&format!(
        "{:<10} {:<14} {:>6} {:>5} {:>6} {:>14} {:>11} {:>11} {:>9}\n",
        "rep", "team", "leads", "SQL", "signed", "revenue", "follow-up", "median h", "feedback"
    ));
    for l in r.reps.iter().take(n) {
        out.push_str(&format!(
            "{:<10} {:<14} {:>6} {:>5} {:>6} {:>14.2} {:>11} {:>11} {:>9}\n",
            l.rep_id,
            l.team,
            l.leads,
            l.sqls,
            l.signed,
            l.revenue_minor as f64 / 100.0,
            opt(l.compliance_pct, "%"),
            opt(l.median_follow_up_hours, ""),
            opt(l.feedback_pct, "%"),
        ));
    }
    out.push_str(
        "follow-up = share of the rep's follow-up clocks met in time; feedback = filled / owed \
         stage feedback fields.\n",
    );
    out
}

/// Leakage per partner.
pub fn render_leakage(r: &pb::PartnerLeakageResponse) -> String {
    let mut out = String::from("Partner leakage (no follow-up and no outcome after 14 days)\n");
    out.push_str(&format!(
        "{:<14} {:>8} {:>7} {:>8}\n",
        "partner", "held", "leaked", "leakage"
    ));
    for p in &r.partners {
        out.push_str(&format!(
            "{:<14} {:>8} {:>7} {:>7.1}%\n",
            p.partner_id, p.handed_off, p.leaked, p.leakage_pct
        ));
    }
    if r.partners.is_empty() {
        out.push_str("(no partner holds leads that long)\n");
    }
    out
}
