//! `leadledger report --format table|json|csv` against a real server: the three formats carry
//! the same figures, and those are the read models' (a known workload: leads, SQLs, signed
//! deals and their amount).
//!
//! Why a test of the `leadledger` package: see `kill.rs` (the binary's path).

use std::process::Command;
use std::time::Duration;

use leadledger_e2e::workload::{funnel_workload, send_all, Expected, TENANT};
use leadledger_e2e::TestEnv;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_leadledger");
const WAIT: Duration = Duration::from_secs(45);

fn report(env: &TestEnv, format: &str) -> anyhow::Result<String> {
    let out = Command::new(BIN)
        .args(["report", "--attribution", "--sla", "--tenant", TENANT])
        .args(["--addr", &format!("http://{}", env.addr)])
        .args(["--as-of", "2026-12-31T00:00:00Z", "--format", format])
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
    env.wait_credits_caught_up(WAIT).await?;
    let e = Expected::of(leads);

    // JSON: every section, the funnel's TOTAL row equal to the workload.
    let json: Value = serde_json::from_str(&report(&env, "json")?)?;
    let sections = json["sections"].as_array().expect("sections");
    let ids: Vec<&str> = sections.iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "funnel_by_channel",
            "velocity_by_stage",
            "stalled_leads",
            "revenue_by_channel_models",
            "revenue_by_campaign_contact",
            "revenue_by_campaign_account",
            "sla_compliance",
            "rep_leaderboard",
            "partner_leakage"
        ]
    );
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

    let models = &sections[3];
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
    let csv = report(&env, "csv")?;
    let blocks: Vec<&str> = csv.split("\r\n\n").collect();
    assert_eq!(blocks.len(), 9, "{csv}");
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
    let table = report(&env, "table")?;
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
    env.cleanup().await
}
