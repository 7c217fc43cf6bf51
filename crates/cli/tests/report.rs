//! `leadledger report --format table|json|csv` against a real server: the three formats carry
//! the same figures, and those are the read models' (a known workload: leads, SQLs, signed
//! deals and their amount); the reasons sections against a second tenant's known exits.
//!
//! Why a test of the `leadledger` package: see `kill.rs` (the binary's path).

use std::process::Command;
use std::time::Duration;

use leadledger_api::pb::{self, event::Payload};
use leadledger_e2e::events::{accepted, at, captured, event, mql};
use leadledger_e2e::workload::{funnel_workload, send_all, Expected, TENANT};
use leadledger_e2e::{append, TestEnv};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_leadledger");
const WAIT: Duration = Duration::from_secs(45);

/// Where the report test leaves its page for the screenshot check (`scripts/test.sh` runs
/// `scripts/report-html-check.sh` on it).
const PAGE: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/report.html");

fn report(env: &TestEnv, format: &str, extra: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(BIN)
        .args(["report", "--attribution", "--sla", "--tenant", TENANT])
        .args(["--addr", &format!("http://{}", env.addr)])
        .args(["--as-of", "2026-12-31T00:00:00Z", "--format", format])
        .args(extra)
        .env("LEADLEDGER_LOG", "warn")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "report --format {format} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_report_in_three_formats_with_the_read_models_figures() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let leads = 40;
    send_all(env.addr, funnel_workload(leads), 20).await?;
    // Receipts for two of the signed leads: part of one contract, all of the other.
    let receipts = [("L-00000", 600), ("L-00004", 1004)].map(|(lead, amount)| {
        event(
            lead,
            "kingdee",
            &format!("rc-{lead}"),
            at(7, 1, 9),
            Payload::PaymentCollected(pb::PaymentCollected {
                amount_minor: amount,
                currency: "CNY".into(),
                ..Default::default()
            }),
        )
    });
    send_all(env.addr, receipts.to_vec(), 20).await?;
    let collected = 1604;
    env.wait_credits_caught_up(WAIT).await?;
    let e = Expected::of(leads);

    // JSON: every section, the funnel's TOTAL row equal to the workload.
    let json: Value = serde_json::from_str(&report(&env, "json", &[])?)?;
    let sections = json["sections"].as_array().expect("sections");
    let ids: Vec<&str> = sections.iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "funnel_by_channel",
            "velocity_by_stage",
            "stalled_leads",
            "cohort_curves",
            "exit_reasons",
            "valuable_not_converted",
            "returned_to_pool",
            "revenue_equation_by_channel",
            "revenue_equation_by_segment",
            "roi_by_channel",
            "revenue_by_channel_models",
            "revenue_by_campaign_contact",
            "revenue_by_campaign_account",
            "sla_compliance",
            "rep_leaderboard",
            "partner_leakage"
        ]
    );
    // With a candidate policy file: its compliance beside the live one, per policy.
    let candidate = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/policies-follow-up-elapsed.toml"
    );
    let with: Value = serde_json::from_str(&report(&env, "json", &["--what-if", candidate])?)?;
    let whatif = with["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .find(|s| s["id"] == "sla_whatif")
        .expect("a what-if section")
        .clone();
    let rows = whatif["rows"].as_array().expect("rows");
    let row = |policy: &str| {
        rows.iter()
            .find(|r| r["policy"] == policy)
            .unwrap_or_else(|| panic!("{policy} in {whatif}"))
            .clone()
    };
    assert_eq!(rows.len(), 5, "{whatif}");
    let follow_up = row("mql-follow-up");
    assert_eq!(
        (
            follow_up["live_version"].as_i64(),
            follow_up["candidate_version"].as_i64()
        ),
        (Some(1), Some(2))
    );
    // The other policies are the same rules: the same figures.
    let accept = row("mql-accept-reject");
    assert_eq!(accept["live_compliance"], accept["candidate_compliance"]);
    assert_eq!(accept["breaches_change"].as_i64(), Some(0));
    assert!(accept["live_breaches"].as_i64().is_some());
    let funnel = &sections[0];
    let total = funnel["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["channel"] == "TOTAL")
        .expect("a TOTAL row");
    assert_eq!(total["leads"], e.leads);
    assert_eq!(total["sql"], e.sql);
    assert_eq!(total["signed"], e.signed);
    assert_eq!(total["revenue_cny"].as_f64(), Some(e.amount as f64 / 100.0));
    assert_eq!(
        total["lead_to_won"].as_f64(),
        Some(e.signed as f64 / e.leads as f64)
    );
    // Every model's shares of the same revenue sum to 1.
    // Velocity of the workload: capture → MQL takes 30 days (April → May, same day and hour),
    // MQL → SQL 6 hours for the even leads, SQL → signed 30.75 days for every fourth lead; at
    // the end of the year the odd leads' MQL stays and the SQLs never signed are stalled.
    let velocity = &sections[1];
    let stage = |name: &str| {
        velocity["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["stage"] == name)
            .unwrap_or_else(|| panic!("a {name} row in {velocity}"))
            .clone()
    };
    let (captured, mql, sql, signed) = (
        stage("captured"),
        stage("mql"),
        stage("sql"),
        stage("signed"),
    );
    assert_eq!(
        (captured["completed"].as_i64(), captured["open"].as_i64()),
        (Some(e.leads), Some(0))
    );
    for q in ["p50_days", "p90_days", "mean_days"] {
        assert_eq!(captured[q].as_f64(), Some(30.0), "captured {q}");
    }
    assert_eq!(captured["conversion"].as_f64(), Some(1.0));
    assert_eq!(mql["completed"].as_i64(), Some(e.sql));
    assert_eq!(mql["p90_days"].as_f64(), Some(0.25));
    assert_eq!(mql["stalled"].as_i64(), Some(e.leads - e.sql));
    assert_eq!(mql["advanced"].as_i64(), Some(e.sql));
    assert_eq!(sql["completed"].as_i64(), Some(e.signed));
    assert_eq!(sql["p50_days"].as_f64(), Some(30.75));
    assert_eq!(sql["stalled"].as_i64(), Some(e.sql - e.signed));
    assert_eq!(
        (signed["open"].as_i64(), signed["stalled"].as_i64()),
        (Some(e.signed), Some(0))
    );
    let stalled = sections[2]["rows"].as_array().unwrap();
    assert_eq!(stalled.len(), 10);
    // The furthest past its P90: an odd lead's MQL stay (P90 of 6 hours), captured earliest.
    assert_eq!(stalled[0]["stage"], "mql");
    assert_eq!(stalled[0]["lead"], "L-00001");

    // The workload has no exits: the reasons sections are there, empty.
    // Cohorts: one capture month (April), every lead reached MQL in week 5 (30 days).
    let cohorts = sections[3]["rows"].as_array().unwrap();
    let mql_curve = cohorts
        .iter()
        .find(|r| r["cohort"] == "2026-04" && r["stage"] == "mql")
        .expect("April's MQL curve");
    assert_eq!(mql_curve["leads"], e.leads);
    assert_eq!(mql_curve["w4"].as_f64(), Some(0.0));
    assert_eq!(mql_curve["w5"].as_f64(), Some(1.0));

    for s in &sections[4..7] {
        assert_eq!(s["rows"].as_array().map(Vec::len), Some(0), "{}", s["id"]);
    }

    // The revenue equation: half the leads reached SQL, half of those signed, two receipts.
    let equation = &sections[7];
    let total = equation["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["channel"] == "TOTAL")
        .expect("a TOTAL row");
    assert_eq!(total["leads"], e.leads);
    assert_eq!(
        total["lead_to_sql"].as_f64(),
        Some(e.sql as f64 / e.leads as f64)
    );
    assert_eq!(
        total["win_rate"].as_f64(),
        Some(e.signed as f64 / e.sql as f64)
    );
    assert_eq!(
        total["avg_deal"].as_f64(),
        Some(e.amount as f64 / e.signed as f64 / 100.0)
    );
    assert_eq!(
        total["collection"].as_f64(),
        Some(collected as f64 / e.amount as f64)
    );
    assert_eq!(total["signed"].as_f64(), Some(e.amount as f64 / 100.0));
    assert_eq!(total["collected"].as_f64(), Some(collected as f64 / 100.0));
    let by_segment = sections[8]["rows"].as_array().unwrap();
    assert_eq!(by_segment.len(), 1, "every workload lead is KA");
    assert_eq!(by_segment[0]["segment"], "KA");
    assert_eq!(by_segment[0]["collected"], total["collected"]);

    // ROI: the workload states no spend; three channels with their leads, no ratio of spend.
    let roi = sections[9]["rows"].as_array().unwrap();
    assert_eq!(roi.len(), 3, "{roi:?}");
    let leads: i64 = roi.iter().filter_map(|r| r["leads"].as_i64()).sum();
    assert_eq!(leads, e.leads);
    assert!(roi
        .iter()
        .all(|r| r["spend"].as_f64() == Some(0.0) && r["roi"].is_null()));

    let models = &sections[10];
    for m in models["columns"].as_array().unwrap().iter().skip(1) {
        let m = m.as_str().unwrap();
        let sum: f64 = models["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r[m].as_f64())
            .sum();
        assert!((sum - 1.0).abs() < 1e-9, "{m}: shares sum to {sum}");
    }

    // CSV: the same TOTAL row, one block per section, each line led by its section.
    let csv = report(&env, "csv", &[])?;
    let blocks: Vec<&str> = csv.split("\r\n\n").collect();
    assert_eq!(blocks.len(), 16, "{csv}");
    let funnel_block: Vec<&str> = blocks[0].lines().collect();
    assert!(funnel_block[0].starts_with("section,channel,leads,mql,sql,poc,signed,"));
    let total_line = funnel_block
        .iter()
        .find(|l| l.starts_with("funnel_by_channel,TOTAL,"))
        .expect("TOTAL line");
    let fields: Vec<&str> = total_line.split(',').collect();
    assert_eq!(fields[2], e.leads.to_string());
    assert_eq!(fields[4], e.sql.to_string());
    assert_eq!(fields[6], e.signed.to_string());
    assert_eq!(fields[12].parse::<f64>()?, e.amount as f64 / 100.0);

    // Table: the titles a person reads, the TOTAL line with the same counts.
    let table = report(&env, "table", &["--html", PAGE])?;
    assert!(table.contains("Funnel by channel — tenant acme"), "{table}");
    assert!(
        table.contains("SLA compliance at 2026-12-31 00:00 UTC"),
        "{table}"
    );
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with("TOTAL"))
        .expect("TOTAL line");
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols[1], e.leads.to_string(), "{line}");
    assert_eq!(cols[5], e.signed.to_string(), "{line}");

    // HTML: one page, nothing fetched from elsewhere, a chart per charted section with the
    // section's numbers (the funnel's bars carry their values as titles).
    let page = std::fs::read_to_string(PAGE)?;
    for chart in [
        "funnel",
        "velocity",
        "attribution",
        "sla",
        "revenue",
        "roi",
        "cohorts",
    ] {
        assert!(page.contains(&format!("id=\"chart-{chart}\"")), "{chart}");
    }
    assert!(page.contains(&format!(
        "<title>leads that reached the stage: {}</title>",
        e.leads
    )));
    assert!(page.contains(&format!(
        "<title>leads that reached the stage: {}</title>",
        e.sql
    )));
    for banned in ["<script", "<link", "<img", "src=", "url(", "@import"] {
        assert!(!page.contains(banned), "{banned}");
    }
    assert!(
        page.contains("Funnel by channel — tenant acme"),
        "the tables follow"
    );

    reasons_of_known_exits(&env).await?;
    env.cleanup().await
}

fn fact(lead: &str, src: &str, day: u32, p: Payload) -> pb::Event {
    event(lead, "salesforce", src, at(5, day, 9), p)
}

/// Six exits of five leads of tenant `exits`, and the reasons sections' rows.
async fn reasons_of_known_exits(env: &TestEnv) -> anyhow::Result<()> {
    let rejected = |lead: &str, src: &str, rep: &str| {
        fact(
            lead,
            src,
            3,
            Payload::SalesRejected(pb::SalesRejected {
                reason: pb::RejectReason::NoBudget as i32,
                rep_id: rep.into(),
                ..Default::default()
            }),
        )
    };
    let mut events = Vec::new();
    for l in ["R1", "R2", "S1", "S2", "D1"] {
        events.push(captured(l, &format!("c-{l}"), at(4, 1, 9), "webinar"));
        if l != "D1" {
            events.push(mql(l, &format!("m-{l}"), at(4, 2, 9)));
        }
    }
    events.extend([
        rejected("R1", "r1", "rep-01"),
        rejected("R2", "r2", "rep-02"),
        fact(
            "R2",
            "y2",
            9,
            Payload::Recycled(pb::Recycled {
                code: pb::RecycleReason::RejectedToNurture as i32,
                rep_id: "rep-02".into(),
                ..Default::default()
            }),
        ),
        accepted("S1", "a1", at(4, 5, 9), "rep-01"),
        fact(
            "S1",
            "l1",
            20,
            Payload::Lost(pb::Lost {
                code: pb::LossReason::Price as i32,
                rep_id: "rep-01".into(),
                ..Default::default()
            }),
        ),
        // A stale recycle names no rep: it is the owner's, rep-01.
        accepted("S2", "a2", at(4, 5, 9), "rep-01"),
        fact(
            "S2",
            "y3",
            21,
            Payload::Recycled(pb::Recycled {
                code: pb::RecycleReason::Stale as i32,
                ..Default::default()
            }),
        ),
        fact(
            "D1",
            "d1",
            2,
            Payload::Disqualified(pb::Disqualified {
                code: pb::DisqualifyReason::Spam as i32,
                ..Default::default()
            }),
        ),
    ]);
    let mut ingest = env.ingest().await?;
    let token = append(&mut ingest, "exits", events)
        .await?
        .consistency_token;
    let out = Command::new(BIN)
        .args(["report", "--tenant", "exits", "--token", &token])
        .args(["--addr", &format!("http://{}", env.addr)])
        .args(["--as-of", "2026-12-31T00:00:00Z", "--format", "json"])
        .env("LEADLEDGER_LOG", "warn")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout)?;
    let section = |id: &str| -> Vec<Vec<String>> {
        let s = json["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("no section {id}"));
        let columns: Vec<&str> = s["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        s["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| columns.iter().map(|c| r[*c].to_string()).collect())
            .collect()
    };
    let rows = |r: &[[&str; 4]]| -> Vec<Vec<String>> {
        r.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    };
    assert_eq!(
        section("exit_reasons"),
        rows(&[
            [r#""rejected""#, r#""no_budget""#, "2", "1.0"],
            [r#""recycled""#, r#""rejected_to_nurture""#, "1", "0.5"],
            [r#""recycled""#, r#""stale""#, "1", "0.5"],
            [r#""disqualified""#, r#""spam""#, "1", "1.0"],
            [r#""lost""#, r#""price""#, "1", "1.0"],
        ])
    );
    assert_eq!(
        section("valuable_not_converted"),
        rows(&[
            [r#""recycled""#, r#""stale""#, "1", "1.0"],
            [r#""lost""#, r#""price""#, "1", "1.0"],
        ])
    );
    assert_eq!(
        section("returned_to_pool"),
        rows(&[
            [r#""rep-01""#, "1", r#""stale""#, "1.0"],
            [r#""rep-02""#, "1", r#""rejected_to_nurture""#, "1.0"],
        ])
    );
    Ok(())
}
