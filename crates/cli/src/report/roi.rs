//! The ROI section of `leadledger report`: per channel, spend against what it bought and
//! returned over the capture window of the leads (docs/ANALYTICS.md, "ROI").

use chrono::{DateTime, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::{
    self, attribution_service_client::AttributionServiceClient,
    query_service_client::QueryServiceClient,
};

use super::output::{Cell, Section};
use super::Ask;

/// The section for `tenant` over the whole months its leads were captured in (none when no
/// lead is captured).
pub async fn section(ask: &Ask) -> anyhow::Result<Option<Section>> {
    let Some((from, to)) = capture_months(ask).await? else {
        return Ok(None);
    };
    let (channel, tenant, token, wait) = ask.parts();
    let mut req = tonic::Request::new(pb::RoiRequest {
        tenant_id: tenant.into(),
        period_from: Some(time_to_proto(from)),
        period_to: Some(time_to_proto(to)),
        consistency_token: token.into(),
        ..Default::default()
    });
    req.set_timeout(wait);
    let r = AttributionServiceClient::new(channel)
        .roi(req)
        .await
        .map_err(|s| anyhow::anyhow!("ROI query failed: {s}"))?
        .into_inner();
    let mut s = Section::new(
        "roi_by_channel",
        format!(
            "ROI by channel — leads captured {} to {}, revenue credited by the {} model ({})",
            from.format("%Y-%m-%d"),
            (to - chrono::Duration::days(1)).format("%Y-%m-%d"),
            r.model,
            r.currency
        ),
        &[
            "channel",
            "spend",
            "leads",
            "per_lead",
            "per_sql",
            "cac",
            "revenue",
            "roi",
            "roas",
            "turnover_p50_days",
            "turnover_p90_days",
        ],
    )
    .note("Spend prorated to the days of the window; leads, SQLs and won deals of the leads captured in it; roi = (revenue − spend) / spend, roas = revenue / spend; turnover = capture → signed of the won leads. docs/ANALYTICS.md, \"ROI\".");
    let money = |x: Option<f64>| x.map_or(Cell::None, |x| Cell::Num(x / 100.0, 2));
    let num = |x: Option<f64>, d: usize| x.map_or(Cell::None, |x| Cell::Num(x, d));
    for g in &r.groups {
        s.rows.push(vec![
            Cell::Text(g.value.clone()),
            Cell::Num(g.spend_minor as f64 / 100.0, 2),
            Cell::Int(g.leads),
            money(g.cost_per_lead_minor),
            money(g.cost_per_sql_minor),
            money(g.cac_minor),
            Cell::Num(g.revenue_minor as f64 / 100.0, 2),
            num(g.roi, 2),
            num(g.roas, 2),
            num(g.turnover_p50_days, 1),
            num(g.turnover_p90_days, 1),
        ]);
    }
    Ok(Some(s))
}

/// From the first day of the first month a lead of `tenant` was captured in to the first
/// day after the last.
async fn capture_months(ask: &Ask) -> anyhow::Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    let (channel, tenant, token, wait) = ask.parts();
    let mut req = tonic::Request::new(pb::FunnelRequest {
        tenant_id: tenant.into(),
        group_by: vec![pb::FunnelDimension::CaptureMonth as i32],
        consistency_token: token.into(),
        ..Default::default()
    });
    req.set_timeout(wait);
    let f = QueryServiceClient::new(channel)
        .funnel(req)
        .await
        .map_err(|s| anyhow::anyhow!("funnel query failed: {s}"))?
        .into_inner();
    let first_day = |key: &str| {
        chrono::NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d")
            .ok()
            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
    };
    let months: Vec<DateTime<Utc>> = f
        .groups
        .iter()
        .filter_map(|g| g.key.first().and_then(|k| first_day(k)))
        .collect();
    Ok(months
        .iter()
        .min()
        .zip(months.iter().max())
        .map(|(a, b)| (*a, *b + chrono::Months::new(1))))
}
