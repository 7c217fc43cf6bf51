//! `leadledger report`: the funnel by channel, as a table a person reads; with `--attribution`
//! revenue under every model, with `--sla` the hand-off sections (`report_sla`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use leadledger_api::pb::attribution_service_client::AttributionServiceClient;
use leadledger_api::pb::{self, query_service_client::QueryServiceClient};

use leadledger_grpc::auth::client::BearerKey;

use crate::config::Config;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Tenant to report on.
    #[arg(long, default_value = "demo")]
    tenant: String,
    /// Query endpoint (default: http://<server.listen>).
    #[arg(long)]
    addr: Option<String>,
    /// Wait until the projection has applied this consistency token.
    #[arg(long, default_value = "")]
    token: String,
    /// Read the consistency token from a file (as written by `simulate --token-out`).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// How long to wait for the token.
    #[arg(long, default_value_t = 60)]
    wait_secs: u64,
    /// Also print signed revenue by channel under every attribution model, side by side.
    #[arg(long)]
    attribution: bool,
    /// Also print SLA compliance, the rep leaderboard and partner leakage.
    #[arg(long)]
    sla: bool,
    /// The instant SLA clocks are evaluated at (RFC 3339); default now.
    #[arg(long)]
    as_of: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn run(cfg: &Config, key: &BearerKey, args: Args) -> anyhow::Result<()> {
    let addr = args
        .addr
        .clone()
        .unwrap_or_else(|| format!("http://{}", cfg.listen));
    let token = match &args.token_file {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("reading {}", p.display()))?
            .trim()
            .to_string(),
        None => args.token.clone(),
    };
    let channel = crate::client::connect(&addr, key).await?;
    let mut client = QueryServiceClient::new(channel.clone());
    let funnel = |group_by: Vec<i32>| {
        let mut req = tonic::Request::new(pb::FunnelRequest {
            tenant_id: args.tenant.clone(),
            group_by,
            consistency_token: token.clone(),
            ..Default::default()
        });
        req.set_timeout(Duration::from_secs(args.wait_secs));
        req
    };
    let by_channel = client
        .funnel(funnel(vec![pb::FunnelDimension::Channel as i32]))
        .await
        .map_err(|s| anyhow::anyhow!("funnel query failed: {s}"))?
        .into_inner();
    let total = client
        .funnel(funnel(vec![]))
        .await
        .map_err(|s| anyhow::anyhow!("funnel query failed: {s}"))?
        .into_inner();
    print!("{}", render(&args.tenant, &by_channel, &total));
    if args.attribution {
        let mut attribution = AttributionServiceClient::new(channel.clone());
        let mut req = tonic::Request::new(pb::CompareModelsRequest {
            tenant_id: args.tenant.clone(),
            conversion: pb::ConversionKind::Revenue as i32,
            consistency_token: token.clone(),
            ..Default::default()
        });
        req.set_timeout(Duration::from_secs(args.wait_secs));
        let revenue = attribution
            .compare_models(req)
            .await
            .map_err(|s| anyhow::anyhow!("attribution query failed: {s}"))?
            .into_inner();
        print!("\n{}", render_attribution(&revenue));
        // The precomputed side: the credits worker's totals, read-your-writes on the token.
        for (level, name) in [
            (pb::AttributionLevel::Contact, "contact"),
            (pb::AttributionLevel::Account, "account"),
        ] {
            let mut req = tonic::Request::new(pb::AttributionRequest {
                tenant_id: args.tenant.clone(),
                model: "w_shaped".into(),
                level: level as i32,
                conversion: pb::ConversionKind::Revenue as i32,
                group_by: pb::GroupBy::Campaign as i32,
                consistency_token: token.clone(),
                ..Default::default()
            });
            req.set_timeout(Duration::from_secs(args.wait_secs));
            let r = attribution
                .attribution(req)
                .await
                .map_err(|s| anyhow::anyhow!("attribution query failed: {s}"))?
                .into_inner();
            print!("\n{}", render_grouped(&r, name));
        }
    }
    if args.sla {
        let as_of = args.as_of.unwrap_or_else(chrono::Utc::now);
        crate::report_sla::run(
            channel,
            &args.tenant,
            &token,
            as_of,
            Duration::from_secs(args.wait_secs),
        )
        .await?;
    }
    Ok(())
}

/// The top campaigns of a grouped attribution.
pub fn render_grouped(r: &pb::AttributionResponse, level: &str) -> String {
    let mut out = format!(
        "Signed revenue by campaign, W-shaped, {level} level ({}; top 8 of {}):\n",
        if r.precomputed {
            "precomputed"
        } else {
            "computed on request"
        },
        r.groups.len()
    );
    for g in r.groups.iter().take(8) {
        let name = if g.value.is_empty() {
            "(none)"
        } else {
            &g.value
        };
        out.push_str(&format!(
            "  {name:28} {:>16.2} CNY {:>6.1} %\n",
            g.credit as f64 / 100.0,
            g.share * 100.0
        ));
    }
    out
}

/// Short column titles for the models.
fn short(model: &str) -> &str {
    match model {
        "first_touch" => "first",
        "last_touch" => "last",
        "time_decay" => "decay7d",
        "u_shaped" => "U",
        "u_shaped_lead_creation" => "U-FT/LC",
        "w_shaped" => "W",
        "full_path" => "full",
        "inverse_j" => "inv-J",
        other => other,
    }
}

/// Renders each channel's share of signed revenue under every model.
pub fn render_attribution(r: &pb::CompareModelsResponse) -> String {
    let mut channels: Vec<String> = r
        .models
        .iter()
        .flat_map(|m| m.channels.iter().map(|c| c.channel.clone()))
        .collect();
    channels.sort();
    channels.dedup();
    let total = r.models.first().map_or(0, |m| m.total);
    // Order channels by their linear credit, largest first.
    let linear = r.models.iter().find(|m| m.model == "linear");
    let credit_of = |m: &pb::ModelCredits, ch: &str| {
        m.channels
            .iter()
            .find(|c| c.channel == ch)
            .map_or(0, |c| c.credit)
    };
    channels.sort_by_key(|ch| std::cmp::Reverse(linear.map_or(0, |m| credit_of(m, ch))));
    let mut out = format!(
        "Signed revenue by channel under each attribution model (share of {:.2} CNY; {} deals, {} without a touch)\n",
        total as f64 / 100.0,
        r.conversions,
        r.unattributed
    );
    out.push_str(&format!("{:<12}", "channel"));
    for m in &r.models {
        out.push_str(&format!(" {:>8}", short(&m.model)));
    }
    out.push('\n');
    for ch in &channels {
        out.push_str(&format!("{ch:<12}"));
        for m in &r.models {
            let share = if m.total == 0 {
                0.0
            } else {
                credit_of(m, ch) as f64 / m.total as f64
            };
            out.push_str(&format!(" {:>7.1}%", share * 100.0));
        }
        out.push('\n');
    }
    out.push_str("Every column sums to 100 % of the same revenue; docs/ATTRIBUTION.md gives each model's rule.\n");
    out
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Renders the funnel table.
pub fn render(tenant: &str, by_channel: &pb::FunnelResponse, total: &pb::FunnelResponse) -> String {
    let mut rows: Vec<(String, &pb::FunnelGroup)> = by_channel
        .groups
        .iter()
        .map(|g| (g.key.first().cloned().unwrap_or_default(), g))
        .collect();
    rows.sort_by_key(|(_, g)| std::cmp::Reverse(g.stages.first().map_or(0, |s| s.leads)));
    rows.extend(total.groups.iter().map(|g| ("TOTAL".to_string(), g)));
    let mut out = format!("Funnel by channel — tenant {tenant}\n");
    out.push_str(&format!(
        "{:<12} {:>7} {:>6} {:>6} {:>5} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>14}\n",
        "channel",
        "leads",
        "MQL",
        "SQL",
        "POC",
        "signed",
        "→MQL",
        "MQL→SQL",
        "SQL→POC",
        "POC→won",
        "lead→won",
        "revenue CNY"
    ));
    for (name, g) in rows {
        let n: Vec<i64> = g.stages.iter().map(|s| s.leads).collect();
        let conv: Vec<f64> = g
            .stages
            .iter()
            .map(|s| s.conversion_from_previous)
            .collect();
        if n.len() < 5 {
            continue;
        }
        let won = if n[0] > 0 {
            n[4] as f64 / n[0] as f64
        } else {
            0.0
        };
        let revenue = g.signed_amount_minor.get("CNY").copied().unwrap_or(0) as f64 / 100.0;
        out.push_str(&format!(
            "{:<12} {:>7} {:>6} {:>6} {:>5} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>14.2}\n",
            name,
            n[0],
            n[1],
            n[2],
            n[3],
            n[4],
            pct(conv[1]),
            pct(conv[2]),
            pct(conv[3]),
            pct(conv[4]),
            pct(won),
            revenue
        ));
    }
    out.push_str("A lead counts at a stage if it reached that stage or a later one; → is the share of the previous stage.\n");
    out
}
