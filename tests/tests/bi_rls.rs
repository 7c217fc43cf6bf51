//! Tenant-scoped BI access (issue 15): a BI role made with `leadledger_store::bi::grant`
//! reads, with psql as that role, only its tenants' rows through the documented views, the
//! BI contract's views (schema `bi`) and the tables behind them; a role leadledger did not register reads nothing; a registered
//! app role reads everything.

use std::process::Command;
use std::time::Duration;

use leadledger_api::pb;
use leadledger_e2e::events::{at, captured, event, mql, signed};
use leadledger_e2e::{append, unique, TestEnv};
use tonic::Request;

/// `sql` run by psql as `role` on the environment's database: its output lines, or the
/// error psql printed.
fn psql_as(env: &TestEnv, role: &str, sql: &str) -> Result<Vec<String>, String> {
    let url = env
        .db_url
        .replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
    let out = Command::new("psql")
        .args([
            url.as_str(),
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .map_err(|e| format!("running psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

async fn run_sql(env: &TestEnv, sql: &str) -> anyhow::Result<()> {
    sqlx::raw_sql(sql).execute(&env.store.pool).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bi_role_reads_only_its_tenants() -> anyhow::Result<()> {
    let env = TestEnv::start(1).await?;
    let mut ingest = env.ingest().await?;
    let mut token = String::new();
    for tenant in ["acme", "globex"] {
        let events = vec![
            captured("L-1", &format!("{tenant}-c1"), at(4, 1, 9), "webinar"),
            mql("L-1", &format!("{tenant}-m1"), at(4, 2, 9)),
            signed("L-1", &format!("{tenant}-s1"), at(4, 9, 9), 100_000),
            captured("L-2", &format!("{tenant}-c2"), at(4, 3, 9), "seo"),
            // An exit, for `lead_exits`.
            event(
                "L-2",
                "salesforce",
                &format!("{tenant}-d2"),
                at(4, 4, 9),
                pb::event::Payload::Disqualified(pb::Disqualified {
                    code: pb::DisqualifyReason::Spam as i32,
                    ..Default::default()
                }),
            ),
        ];
        token = append(&mut ingest, tenant, events).await?.consistency_token;
    }
    let mut query = env.query().await?;
    let mut req = Request::new(pb::GetLeadRequest {
        tenant_id: "globex".into(),
        lead_id: "L-2".into(),
        consistency_token: token,
    });
    req.set_timeout(Duration::from_secs(20));
    query.get_lead(req).await?;

    let bi = format!("ll_bi_{}", unique());
    let stranger = format!("ll_bi_{}", unique());
    let app = format!("ll_app_{}", unique());
    leadledger_store::bi::grant(&env.store.pool, &bi, "acme").await?;
    // A role with the same privileges whose grant was taken back, and one leadledger knows
    // as its own.
    leadledger_store::bi::grant(&env.store.pool, &stranger, "acme").await?;
    assert!(leadledger_store::bi::revoke(&env.store.pool, &stranger, "acme").await?);
    leadledger_store::bi::grant(&env.store.pool, &app, "acme").await?;
    leadledger_store::bi::add_app_role(&env.store.pool, &app).await?;
    // Roles that read every tenant anyway are refused as BI roles.
    for privileged in [app.as_str(), "postgres"] {
        let e = leadledger_store::bi::grant(&env.store.pool, privileged, "globex")
            .await
            .expect_err("a privileged role was granted as a BI role");
        assert!(e.to_string().contains("cannot be a BI role"), "{e}");
    }

    let result = (|| -> anyhow::Result<()> {
        let views = [
            "SELECT DISTINCT tenant_id FROM funnel_counts ORDER BY 1",
            "SELECT DISTINCT tenant_id FROM lead_velocity ORDER BY 1",
            "SELECT DISTINCT tenant_id FROM stage_stays ORDER BY 1",
            "SELECT DISTINCT tenant_id FROM lead_cohorts ORDER BY 1",
            "SELECT DISTINCT tenant_id FROM lead_exits ORDER BY 1",
            "SELECT DISTINCT tenant_id FROM leads ORDER BY 1",
            "SELECT DISTINCT tenant_id FROM lead_events ORDER BY 1",
            "SELECT DISTINCT tenant_id FROM stage_transitions ORDER BY 1",
            "SELECT DISTINCT tenant_id FROM funnel_cells ORDER BY 1",
            // The BI contract (schema `bi`, docs/BI.md).
            "SELECT DISTINCT tenant_id FROM bi.funnel_months ORDER BY 1",
            "SELECT DISTINCT tenant_id FROM bi.lead_exits ORDER BY 1",
            "SELECT DISTINCT tenant_id FROM bi.lead_velocity ORDER BY 1",
        ];
        for sql in views {
            let mine = psql_as(&env, &bi, sql).map_err(anyhow::Error::msg)?;
            assert_eq!(mine, ["acme"], "{bi}: {sql}");
            let none = psql_as(&env, &stranger, sql).map_err(anyhow::Error::msg)?;
            assert!(none.is_empty(), "{stranger} read {none:?}: {sql}");
            let all = psql_as(&env, &app, sql).map_err(anyhow::Error::msg)?;
            assert_eq!(all, ["acme", "globex"], "{app}: {sql}");
        }
        // Naming the other tenant does not help.
        let n = psql_as(
            &env,
            &bi,
            "SELECT count(*) FROM leads WHERE tenant_id = 'globex'",
        )
        .map_err(anyhow::Error::msg)?;
        assert_eq!(n, ["0"]);
        // Its own grants only, and no way to write.
        let grants = psql_as(&env, &bi, "SELECT role_name, tenant_id FROM bi_grants")
            .map_err(anyhow::Error::msg)?;
        assert_eq!(grants, [format!("{bi}|acme")]);
        let err = psql_as(
            &env,
            &bi,
            "INSERT INTO bi_grants (role_name, tenant_id) VALUES (current_user, 'globex')",
        )
        .expect_err("a BI role granted itself a tenant");
        assert!(err.contains("permission denied"), "{err}");
        let err = psql_as(&env, &bi, "DELETE FROM leads").expect_err("a BI role deleted");
        assert!(err.contains("permission denied"), "{err}");
        Ok(())
    })();

    for role in [&bi, &stranger, &app] {
        run_sql(
            &env,
            &format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""),
        )
        .await?;
    }
    result?;
    env.cleanup().await
}
