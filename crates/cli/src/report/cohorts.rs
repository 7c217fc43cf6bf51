//! The cohort section of `leadledger report`: per capture month, the share that reached
//! MQL, SQL, POC and signed within 1, 2, … N weeks of capture (docs/ANALYTICS.md,
//! "Cohorts").

use chrono::{DateTime, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::{self, query_service_client::QueryServiceClient};

use super::output::{Cell, Section};
use super::Ask;

/// Points per curve: a quarter of weeks.
const WEEKS: u32 = 13;

/// The section for `tenant`, the curves read at `at`.
pub async fn section(ask: &Ask, at: DateTime<Utc>) -> anyhow::Result<Section> {
    let (channel, tenant, token, wait) = ask.parts();
    let mut req = tonic::Request::new(pb::CohortsRequest {
        tenant_id: tenant.into(),
        period: pb::CohortPeriod::Month as i32,
        weeks: WEEKS,
        at: Some(time_to_proto(at)),
        consistency_token: token.into(),
        ..Default::default()
    });
    req.set_timeout(wait);
    let r = QueryServiceClient::new(channel)
        .cohorts(req)
        .await
        .map_err(|s| anyhow::anyhow!("cohorts query failed: {s}"))?
        .into_inner();
    let weeks: Vec<String> = (1..=r.weeks).map(|w| format!("w{w}")).collect();
    let mut columns = vec!["cohort", "stage", "leads", "complete_weeks"];
    columns.extend(weeks.iter().map(String::as_str));
    let mut s = Section::new(
        "cohort_curves",
        format!("Capture cohorts — share that reached each stage within N weeks ({WEEKS} weeks)"),
        &columns,
    )
    .note("Cumulative shares of the cohort's leads; points past complete_weeks can still grow. docs/ANALYTICS.md, \"Cohorts\".");
    for c in &r.cohorts {
        for curve in &c.curves {
            let mut row = vec![
                Cell::Text(c.cohort.clone()),
                Cell::stage(curve.stage),
                Cell::Int(c.leads),
                Cell::Int(i64::from(c.complete_weeks)),
            ];
            row.extend(curve.share.iter().map(|x| Cell::Share(Some(*x))));
            s.rows.push(row);
        }
    }
    Ok(s)
}
