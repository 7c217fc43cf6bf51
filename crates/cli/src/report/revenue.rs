//! The revenue equation section of `leadledger report`: per channel and per segment, leads ×
//! lead → SQL × win rate × average deal × collection ratio = collected (docs/ANALYTICS.md,
//! "Revenue equation").

use leadledger_api::pb::{self, query_service_client::QueryServiceClient};

use super::output::{Cell, Section};
use super::Ask;

/// The sections for `tenant`: by channel (largest first, then the total) and by segment.
pub async fn sections(ask: &Ask) -> anyhow::Result<Vec<Section>> {
    let (channel, tenant, token, wait) = ask.parts();
    let client = QueryServiceClient::new(channel);
    let ask = |group_by: Vec<i32>| {
        let mut req = tonic::Request::new(pb::RevenueEquationRequest {
            tenant_id: tenant.into(),
            group_by,
            consistency_token: token.into(),
            ..Default::default()
        });
        req.set_timeout(wait);
        let mut client = client.clone();
        async move {
            client
                .revenue_equation(req)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| anyhow::anyhow!("revenue equation query failed: {s}"))
        }
    };
    let by_channel = ask(vec![pb::FunnelDimension::Channel as i32]).await?;
    let by_segment = ask(vec![pb::FunnelDimension::Segment as i32]).await?;
    let total = ask(Vec::new()).await?;
    Ok(vec![
        section(
            "revenue_equation_by_channel",
            "channel",
            &by_channel,
            Some(&total),
        ),
        section("revenue_equation_by_segment", "segment", &by_segment, None),
    ])
}

fn section(
    id: &'static str,
    dimension: &'static str,
    r: &pb::RevenueEquationResponse,
    total: Option<&pb::RevenueEquationResponse>,
) -> Section {
    let cur = if r.currency.is_empty() {
        "none"
    } else {
        &r.currency
    };
    let mut groups: Vec<(String, &pb::RevenueEquationGroup)> = r
        .groups
        .iter()
        .map(|g| (g.key.first().cloned().unwrap_or_default(), g))
        .collect();
    groups.sort_by(|a, b| b.1.leads.cmp(&a.1.leads).then_with(|| a.0.cmp(&b.0)));
    groups.extend(
        total
            .into_iter()
            .flat_map(|t| &t.groups)
            .map(|g| ("TOTAL".to_string(), g)),
    );
    let mut s = Section::new(
        id,
        format!("Revenue equation by {dimension} ({cur}) — leads × lead→SQL × win rate × average deal × collection = collected"),
        &[
            dimension,
            "leads",
            "lead_to_sql",
            "win_rate",
            "avg_deal",
            "collection",
            "signed",
            "collected",
        ],
    )
    .note("Capture cohorts: of the leads captured, those that reached SQL, were signed (in this currency) and what was collected of it so far; the product of the factors is the collected amount exactly. docs/ANALYTICS.md, \"Revenue equation\".");
    let value = |r: &Option<pb::Ratio>| r.as_ref().map_or(0.0, |r| r.value);
    for (name, g) in groups {
        s.rows.push(vec![
            Cell::Text(name),
            Cell::Int(g.leads),
            Cell::Share(Some(value(&g.lead_conversion))),
            Cell::Share(Some(value(&g.win_rate))),
            Cell::Num(value(&g.average_deal_minor) / 100.0, 2),
            Cell::Share(Some(value(&g.collection_ratio))),
            Cell::Num(g.signed_amount_minor as f64 / 100.0, 2),
            Cell::Num(g.collected_amount_minor as f64 / 100.0, 2),
        ]);
    }
    s
}
