//! The reasons sections of `leadledger report`: why leads left the main line, the valuable
//! leads that did not convert, and who returned leads to the pool (docs/ANALYTICS.md,
//! "Reasons").

use leadledger_api::pb::{self, query_service_client::QueryServiceClient};
use leadledger_domain::Stage;

use super::output::{Cell, Section};
use super::Ask;

/// Rows of the pool section: the reps who returned the most leads.
const POOL_REPS_SHOWN: usize = 10;

/// The three sections for `tenant`.
pub async fn sections(ask: &Ask) -> anyhow::Result<Vec<Section>> {
    let (channel, tenant, token, wait) = ask.parts();
    let client = QueryServiceClient::new(channel);
    let ask = |r: pb::ReasonsRequest| {
        let mut req = tonic::Request::new(pb::ReasonsRequest {
            tenant_id: tenant.into(),
            consistency_token: token.into(),
            ..r
        });
        req.set_timeout(wait);
        let mut client = client.clone();
        async move {
            client
                .reasons(req)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| anyhow::anyhow!("reasons query failed: {s}"))
        }
    };
    let all = ask(pb::ReasonsRequest::default()).await?;
    let valuable = ask(pb::ReasonsRequest {
        kinds: vec![Stage::Lost.number(), Stage::Recycled.number()],
        reached: Stage::Sql.number(),
        ..Default::default()
    })
    .await?;
    let pool = ask(pb::ReasonsRequest {
        kinds: vec![Stage::Recycled.number()],
        group_by: vec![pb::ExitDimension::Rep as i32],
        ..Default::default()
    })
    .await?;
    Ok(vec![
        by_reason(
            "exit_reasons",
            format!("Why leads left the main line — {} exits", all.total_exits),
            &all,
        )
        .note("Every exit to rejected, recycled, disqualified or lost, by its reason code; share = of the exits of that kind. unspecified = the fact gave words only. docs/ANALYTICS.md, \"Reasons\"."),
        by_reason(
            "valuable_not_converted",
            format!(
                "Valuable leads that did not convert — {} exits after reaching SQL",
                valuable.total_exits
            ),
            &valuable,
        )
        .note("Lost or recycled after the lead had reached SQL (or POC)."),
        returned_to_pool(&pool),
    ])
}

fn by_reason(id: &'static str, title: String, r: &pb::ReasonsResponse) -> Section {
    let mut s = Section::new(id, title, &["kind", "reason", "exits", "share"]);
    for g in &r.groups {
        for x in &g.reasons {
            s.rows.push(vec![
                Cell::stage(g.kind),
                Cell::Text(x.code.clone()),
                Cell::Int(x.exits),
                Cell::Share(Some(x.share)),
            ]);
        }
    }
    s
}

fn returned_to_pool(r: &pb::ReasonsResponse) -> Section {
    let mut groups: Vec<&pb::ReasonGroup> = r.groups.iter().collect();
    groups.sort_by(|a, b| b.exits.cmp(&a.exits).then_with(|| a.key.cmp(&b.key)));
    let mut s = Section::new(
        "returned_to_pool",
        format!(
            "Returned to the public pool — the {} reps who returned the most, of {} recycles",
            groups.len().min(POOL_REPS_SHOWN),
            r.total_exits
        ),
        &["rep", "recycled", "top_reason", "top_share"],
    )
    .note("rep = the rep the fact names, else the owner just before (\"\": nobody owned it).");
    for g in groups.into_iter().take(POOL_REPS_SHOWN) {
        let top = g.reasons.first();
        s.rows.push(vec![
            Cell::Text(g.key.first().cloned().unwrap_or_default()),
            Cell::Int(g.exits),
            Cell::Text(top.map(|t| t.code.clone()).unwrap_or_default()),
            Cell::Share(top.map(|t| t.share)),
        ]);
    }
    s
}
