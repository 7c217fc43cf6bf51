//! The BI contract (issue 17 item 7, docs/BI.md): schema `bi` holds exactly the views the
//! page documents, each with exactly the columns and types its table lists, running with its
//! caller's rights; `bi.funnel_months` equals the leads aggregated by capture month on their
//! own (also after a merge); publishing again changes nothing unless the contract changed; and PostgreSQL refuses
//! what the contract forbids (a column renamed or retyped).

use std::collections::BTreeMap;

use leadledger_api::pb::{self, identity_service_client::IdentityServiceClient};
use leadledger_e2e::events::{at, linked, visitor_touch};
use leadledger_e2e::workload::{quarter, TENANT as T};
use leadledger_e2e::{append, assert_same_rows, TestEnv};
use leadledger_store::bi::{self, CONTRACT_VIEWS};

/// View → its (column, type) list, as docs/BI.md documents them.
fn documented() -> anyhow::Result<BTreeMap<String, Vec<(String, String)>>> {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/BI.md"))?;
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut view: Option<String> = None;
    for line in page.lines() {
        if let Some(name) = line
            .strip_prefix("## `bi.")
            .and_then(|r| r.strip_suffix('`'))
        {
            view = Some(name.to_string());
            out.entry(name.to_string()).or_default();
        } else if let (Some(v), Some(row)) = (&view, line.strip_prefix("| `")) {
            let cells: Vec<&str> = row.split(" | ").collect();
            let column = cells[0].trim_end_matches('`').to_string();
            out.get_mut(v)
                .unwrap()
                .push((column, cells[1].trim().to_string()));
        }
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bi_schema_is_the_documented_contract() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    quarter(&env, 11, 300, Vec::new()).await?;
    let pool = &env.store.pool;
    // One merge, for `bi.lead_merges` (docs/IDENTITY.md).
    let two: Vec<String> = sqlx::query_scalar(
        "SELECT lead_id FROM leads WHERE tenant_id = $1 ORDER BY lead_id LIMIT 2",
    )
    .bind(T)
    .fetch_all(pool)
    .await?;
    IdentityServiceClient::connect(format!("http://{}", env.addr))
        .await?
        .merge_leads(pb::MergeLeadsRequest {
            tenant_id: T.into(),
            survivor_id: two[0].clone(),
            merged_ids: vec![two[1].clone()],
            reason: "same person".into(),
            requested_by: "ops".into(),
            request_id: String::new(),
        })
        .await?;

    // One visitor linked to the first lead, for `bi.visitor_links`.
    let mut ingest = env.ingest().await?;
    append(
        &mut ingest,
        T,
        vec![
            visitor_touch("ck-1", "v1", at(3, 1, 9), "sem"),
            linked("ck-1", &two[0], "k1", at(3, 2, 9)),
        ],
    )
    .await?;
    env.wait_caught_up(std::time::Duration::from_secs(60))
        .await?;
    let link: (String, String) =
        sqlx::query_as("SELECT visitor_id, lead_id FROM bi.visitor_links WHERE tenant_id = $1")
            .bind(T)
            .fetch_one(pool)
            .await?;
    assert_eq!(link, ("ck-1".to_string(), two[0].clone()));
    // Every live lead is in one account, as `leads` has it.
    let (contacts, leads, mismatched): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM bi.account_contacts), (SELECT count(*) FROM leads), \
           (SELECT count(*) FROM bi.account_contacts c JOIN leads l USING (tenant_id, lead_id) \
            WHERE c.account IS DISTINCT FROM l.account_key OR c.account = '')",
    )
    .fetch_one(pool)
    .await?;
    assert_eq!((contacts, mismatched), (leads, 0));

    // The views and their columns, as the catalog has them.
    let rows: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
           coalesce('security_invoker=true' = ANY (c.reloptions), false) \
         FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
         WHERE c.relnamespace = 'bi'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY c.relname, a.attnum",
    )
    .fetch_all(pool)
    .await?;
    let mut catalog: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (view, column, ty, invoker) in rows {
        assert!(invoker, "bi.{view} runs with its caller's rights");
        catalog.entry(view).or_default().push((column, ty));
    }
    let docs = documented()?;
    assert_eq!(
        docs.keys().map(String::as_str).collect::<Vec<_>>(),
        CONTRACT_VIEWS,
        "docs/BI.md documents the contract's views"
    );
    assert_eq!(
        catalog, docs,
        "schema bi is what docs/BI.md says, column for column"
    );

    // Every view answers; those over what a quarter's facts make have rows (routing,
    // ownership requests and credits need workers this environment does not run).
    for v in CONTRACT_VIEWS {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM bi.{v}"))
            .fetch_one(pool)
            .await?;
        let needs_a_worker = matches!(
            v,
            "account_ownership_conflicts" | "attribution_credits_by_model" | "ownership_audit"
        );
        assert!(n > 0 || needs_a_worker, "bi.{v} is empty");
    }

    // The month cells, against the leads aggregated on their own.
    let cells: Vec<String> = sqlx::query_scalar(
        "SELECT t::text FROM (SELECT tenant_id, capture_month, channel, campaign, region, \
           industry, segment, currency, captured, mql, sql, poc, signed, signed_amount_minor, \
           collected_amount_minor FROM bi.funnel_months) t ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let from_leads: Vec<String> = sqlx::query_scalar(
        "SELECT t::text FROM (SELECT tenant_id, \
           date_trunc('month', captured_at AT TIME ZONE 'UTC')::date AS capture_month, \
           channel, campaign, region, industry, segment, \
           CASE WHEN max_rank >= 5 THEN signed_currency ELSE '' END AS currency, \
           count(*) AS captured, count(*) FILTER (WHERE max_rank >= 2) AS mql, \
           count(*) FILTER (WHERE max_rank >= 3) AS sql, \
           count(*) FILTER (WHERE max_rank >= 4) AS poc, \
           count(*) FILTER (WHERE max_rank >= 5) AS signed, \
           coalesce(sum(signed_amount_minor) FILTER (WHERE max_rank >= 5), 0)::int8 AS s, \
           coalesce(sum(collected_amount_minor) FILTER (WHERE max_rank >= 5), 0)::int8 AS c \
         FROM leads GROUP BY 1, 2, 3, 4, 5, 6, 7, 8) t ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    assert_same_rows(
        &cells,
        &from_leads,
        "bi.funnel_months = leads by capture month",
    );
    let collected: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(collected_amount_minor), 0)::int8 FROM bi.funnel_months \
         WHERE tenant_id = $1 AND currency = 'CNY'",
    )
    .bind(T)
    .fetch_one(pool)
    .await?;
    assert!(collected > 0, "the quarter's receipts are in the contract");

    // Publishing again is a no-op: the views' rules are not rewritten.
    let rules = "SELECT string_agg(r.xmin::text, ',' ORDER BY c.relname) FROM pg_rewrite r \
                 JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = 'bi'::regnamespace";
    let before: String = sqlx::query_scalar(rules).fetch_one(pool).await?;
    bi::publish(pool).await?;
    let after: String = sqlx::query_scalar(rules).fetch_one(pool).await?;
    assert_eq!(
        before, after,
        "an unchanged contract is not published again"
    );

    // What the contract forbids, PostgreSQL refuses: a column renamed or retyped.
    const REST: &str = "account_key, rep_open_leads, rep_since, tier, holder_rep_id, \
                        holder_since, holder_by, last_rule";
    for forbidden in [
        format!(
            "CREATE OR REPLACE VIEW bi.account_ownership_conflicts AS \
             SELECT tenant_id, company_domain AS domain, reps, open_leads, {REST} \
             FROM account_ownership_conflicts"
        ),
        format!(
            "CREATE OR REPLACE VIEW bi.account_ownership_conflicts AS \
             SELECT tenant_id, company_domain, reps, open_leads::int4 AS open_leads, {REST} \
             FROM account_ownership_conflicts"
        ),
    ] {
        let e = sqlx::raw_sql(&forbidden).execute(pool).await.unwrap_err();
        assert!(e.to_string().contains("cannot change"), "{e}");
    }
    env.cleanup().await
}
