//! `leadledger report`: the funnel by channel, velocity by stage and the stalled leads
//! (`velocity`), the capture cohorts' curves (`cohorts`), why leads left the main line
//! (`reasons`), the revenue equation by channel and segment (`revenue`), ROI by channel
//! (`roi`); with
//! `--attribution` revenue under every model, with `--sla` the hand-off sections (`sla`).
//! Each section is data (`output`), written as a table for people or as JSON or CSV
//! (`--format`); `--html FILE` also writes them as one self-contained page with charts
//! (`html`, drawn by `svg`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use leadledger_api::pb::attribution_service_client::AttributionServiceClient;
use leadledger_api::pb::{self, query_service_client::QueryServiceClient};

use leadledger_grpc::auth::client::{BearerKey, KeyedChannel};

use crate::config::Config;
use output::{Cell, Format, Section};

mod cohorts;
mod html;
mod output;
mod reasons;
mod revenue;
mod roi;
mod sla;
mod svg;
mod velocity;

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
    /// With `--sla`: also each policy's compliance under this candidate policy file beside
    /// the live one, over the clocks started in the last 92 days (`SlaWhatIf`; nothing live
    /// changes).
    #[arg(long)]
    what_if: Option<PathBuf>,
    /// The instant SLA clocks are evaluated and open stays measured at (RFC 3339); default
    /// now.
    #[arg(long)]
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// table: for people; json: one document with every section; csv: one block per section.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Also write the report as one self-contained HTML page with charts (no external
    /// assets) to this file.
    #[arg(long)]
    html: Option<PathBuf>,
}

/// What every section's queries share: the connection, the tenant, the consistency token
/// they wait for and how long they may.
pub struct Ask {
    pub channel: KeyedChannel,
    pub tenant: String,
    pub token: String,
    pub wait: Duration,
}

impl Ask {
    /// The connection, tenant, token and wait, as the section modules take them.
    pub fn parts(&self) -> (KeyedChannel, &str, &str, Duration) {
        (self.channel.clone(), &self.tenant, &self.token, self.wait)
    }
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
    // One instant for every section that reads one.
    let as_of = args.as_of.unwrap_or_else(chrono::Utc::now);
    let mut sections = vec![funnel_section(&args.tenant, &by_channel, &total)];
    let ask = Ask {
        channel: channel.clone(),
        tenant: args.tenant.clone(),
        token: token.clone(),
        wait: Duration::from_secs(args.wait_secs),
    };
    sections.extend(velocity::sections(&ask, as_of).await?);
    sections.push(cohorts::section(&ask, as_of).await?);
    sections.extend(reasons::sections(&ask).await?);
    sections.extend(revenue::sections(&ask).await?);
    sections.extend(roi::section(&ask).await?);
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
        sections.push(models(&revenue));
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
            sections.push(grouped(&r, name));
        }
    }
    if args.sla {
        let candidate = match &args.what_if {
            Some(f) => Some(
                std::fs::read_to_string(f).with_context(|| format!("--what-if {}", f.display()))?,
            ),
            None => None,
        };
        sections.extend(sla::sections(&ask, as_of, candidate.as_deref()).await?);
    }
    if let Some(path) = &args.html {
        let title = format!(
            "leadledger report — tenant {} at {}",
            args.tenant,
            as_of.format("%Y-%m-%d %H:%M UTC")
        );
        std::fs::write(path, html::page(&title, &sections))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    print!("{}", output::render(&sections, args.format));
    Ok(())
}

/// The top campaigns of a grouped attribution.
fn grouped(r: &pb::AttributionResponse, level: &'static str) -> Section {
    let id = if level == "account" {
        "revenue_by_campaign_account"
    } else {
        "revenue_by_campaign_contact"
    };
    let mut s = Section::new(
        id,
        format!(
            "Signed revenue by campaign, W-shaped, {level} level ({}; top 8 of {})",
            if r.precomputed {
                "precomputed"
            } else {
                "computed on request"
            },
            r.groups.len()
        ),
        &["campaign", "credit_cny", "share"],
    );
    for g in r.groups.iter().take(8) {
        let name = if g.value.is_empty() {
            "(none)"
        } else {
            &g.value
        };
        s.rows.push(vec![
            Cell::Text(name.into()),
            Cell::Num(g.credit as f64 / 100.0, 2),
            Cell::Share(Some(g.share)),
        ]);
    }
    s
}

/// Short column names for the models.
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

/// Each channel's share of signed revenue under every model.
fn models(r: &pb::CompareModelsResponse) -> Section {
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
    let mut columns = vec!["channel"];
    columns.extend(r.models.iter().map(|m| short(&m.model)));
    let mut s = Section::new(
        "revenue_by_channel_models",
        format!(
            "Signed revenue by channel under each attribution model (share of {:.2} CNY; {} deals, {} without a touch)",
            total as f64 / 100.0,
            r.conversions,
            r.unattributed
        ),
        &columns,
    )
    .note("Every column sums to 100 % of the same revenue; docs/ATTRIBUTION.md gives each model's rule.");
    for ch in &channels {
        let mut row = vec![Cell::Text(ch.clone())];
        row.extend(r.models.iter().map(|m| {
            Cell::Share((m.total != 0).then(|| credit_of(m, ch) as f64 / m.total as f64))
        }));
        s.rows.push(row);
    }
    s
}

/// The funnel by channel, then the total.
fn funnel_section(
    tenant: &str,
    by_channel: &pb::FunnelResponse,
    total: &pb::FunnelResponse,
) -> Section {
    let mut rows: Vec<(String, &pb::FunnelGroup)> = by_channel
        .groups
        .iter()
        .map(|g| (g.key.first().cloned().unwrap_or_default(), g))
        .collect();
    rows.sort_by_key(|(_, g)| std::cmp::Reverse(g.stages.first().map_or(0, |s| s.leads)));
    rows.extend(total.groups.iter().map(|g| ("TOTAL".to_string(), g)));
    let mut s = Section::new(
        "funnel_by_channel",
        format!("Funnel by channel — tenant {tenant}"),
        &[
            "channel",
            "leads",
            "mql",
            "sql",
            "poc",
            "signed",
            "to_mql",
            "mql_to_sql",
            "sql_to_poc",
            "poc_to_won",
            "lead_to_won",
            "revenue_cny",
        ],
    )
    .note("A lead counts at a stage if it reached that stage or a later one; to_X is the share of the previous stage.");
    for (name, g) in rows {
        let n: Vec<i64> = g.stages.iter().map(|s| s.leads).collect();
        if n.len() < 5 {
            continue;
        }
        let conv = |i: usize| Cell::Share(Some(g.stages[i].conversion_from_previous));
        let revenue = g.signed_amount_minor.get("CNY").copied().unwrap_or(0) as f64 / 100.0;
        s.rows.push(vec![
            Cell::Text(name),
            Cell::Int(n[0]),
            Cell::Int(n[1]),
            Cell::Int(n[2]),
            Cell::Int(n[3]),
            Cell::Int(n[4]),
            conv(1),
            conv(2),
            conv(3),
            conv(4),
            Cell::Share((n[0] > 0).then(|| n[4] as f64 / n[0] as f64)),
            Cell::Num(revenue, 2),
        ]);
    }
    s
}
