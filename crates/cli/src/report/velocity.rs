//! The velocity sections of `leadledger report`: time in each stage and conversion within
//! the default window over every lead, and the leads stalled longest past their stage's P90
//! (docs/ANALYTICS.md).

use chrono::{DateTime, Utc};
use leadledger_api::convert::{time_from_proto, time_to_proto};
use leadledger_api::pb::{self, query_service_client::QueryServiceClient};
use leadledger_domain::Stage;

use super::output::{Cell, Section};
use super::Ask;

const DAY: f64 = 86_400.0;

/// Stalled leads listed.
const STALLED_SHOWN: u32 = 10;

/// The stages the report looks for stalled leads in: the hand-off and sales stages. Leads
/// waiting in `captured`, `rejected` (nurture) or `recycled` (the pool) are there by design.
const HAND_OFF: [Stage; 3] = [Stage::Mql, Stage::Sql, Stage::Poc];

/// The two sections for `tenant`, open stays measured at `at`.
pub async fn sections(ask: &Ask, at: DateTime<Utc>) -> anyhow::Result<Vec<Section>> {
    let (channel, tenant, token, wait) = ask.parts();
    let mut req = tonic::Request::new(pb::VelocityRequest {
        tenant_id: tenant.into(),
        at: Some(time_to_proto(at)),
        stalled_limit: STALLED_SHOWN,
        stalled_stages: HAND_OFF.iter().map(|s| s.number()).collect(),
        consistency_token: token.into(),
        ..Default::default()
    });
    req.set_timeout(wait);
    let v = QueryServiceClient::new(channel)
        .velocity(req)
        .await
        .map_err(|s| anyhow::anyhow!("velocity query failed: {s}"))?
        .into_inner();
    Ok(vec![by_stage(&v), stalled(&v, at)])
}

fn by_stage(v: &pb::VelocityResponse) -> Section {
    let window_days = v.window.as_ref().map_or(0, |w| w.seconds) as f64 / DAY;
    let mut s = Section::new(
        "velocity_by_stage",
        format!("Velocity by stage — time in stage (days) and conversion within {window_days:.0} days"),
        &[
            "stage",
            "completed",
            "open",
            "p50_days",
            "p90_days",
            "mean_days",
            "entered",
            "advanced",
            "conversion",
            "stalled",
        ],
    )
    .note("Completed stays only for the times (nearest-rank percentiles); advanced = entered a later main-line stage within the window of the first entry; stalled = open in MQL, SQL or POC longer than the stage's P90. docs/ANALYTICS.md.");
    for g in &v.groups {
        for st in &g.stages {
            let main =
                Stage::from_number(st.stage).is_some_and(|s| s.rank().is_some_and(|r| r < 5));
            s.rows.push(vec![
                Cell::stage(st.stage),
                Cell::Int(st.completed_stays),
                Cell::Int(st.open_stays),
                Cell::Num(st.p50_seconds / DAY, 1),
                Cell::Num(st.p90_seconds / DAY, 1),
                Cell::Num(st.mean_seconds / DAY, 1),
                Cell::Int(st.entered),
                Cell::Int(st.advanced_within_window),
                Cell::Share(main.then_some(st.conversion_within_window)),
                Cell::Int(st.stalled),
            ]);
        }
    }
    s
}

fn stalled(v: &pb::VelocityResponse, at: DateTime<Utc>) -> Section {
    let total: i64 = v
        .groups
        .iter()
        .flat_map(|g| &g.stages)
        .map(|s| s.stalled)
        .sum();
    let mut s = Section::new(
        "stalled_leads",
        format!(
            "Stalled leads (MQL, SQL, POC) at {} — the {} furthest past their stage's P90, of {total}",
            at.format("%Y-%m-%d %H:%M UTC"),
            v.stalled.len()
        ),
        &[
            "lead",
            "stage",
            "since",
            "days_in_stage",
            "p90_days",
            "owner_rep",
            "owner_team",
        ],
    );
    for l in &v.stalled {
        let owner = l.owner.clone().unwrap_or_default();
        let since = l
            .entered_at
            .as_ref()
            .and_then(time_from_proto)
            .map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string());
        s.rows.push(vec![
            Cell::Text(l.lead_id.clone()),
            Cell::stage(l.stage),
            Cell::Text(since),
            Cell::Num(l.in_stage_seconds / DAY, 1),
            Cell::Num(l.p90_seconds / DAY, 1),
            Cell::Text(owner.rep_id),
            Cell::Text(owner.team),
        ]);
    }
    s
}
