//! `database.migrate = check` (issue 15): an ingest process with authentication on needs
//! only to read the API keys and to make contacts' data keys (docs/PRIVACY.md), so it can
//! run as a database user that may not change the schema nor write any other row. Against a
//! fresh database:
//!
//! - unmigrated, the process refuses to start and names `leadledger migrate`; migrated but
//!   without the grant, it names the grant;
//! - after `leadledger migrate` as the owner, a user granted `SELECT` on `api_keys` and
//!   `_sqlx_migrations`, `SELECT, INSERT` on `contact_keys` and nothing else starts the ingest
//!   role, authenticates a key made by `leadledger keys create`, and appends a capture (its
//!   contact sealed with a key it made); the same user is refused a write to `api_keys` and
//!   cannot destroy a data key (only `EraseContact` does).

use std::process::Command;

use leadledger_api::pb::{self, ingest_service_client::IngestServiceClient};
use leadledger_e2e::events::{at, captured};
use leadledger_e2e::process::{test_dir, Leadledger};
use leadledger_e2e::{brokers, database_name, pg_server, unique};
use leadledger_grpc::auth::client::BearerKey;
use leadledger_store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_leadledger");
const TMP: &str = env!("CARGO_TARGET_TMPDIR");

/// Runs `leadledger <args>` against `url`; returns (success, stdout, stderr).
fn leadledger(url: &str, args: &[&str]) -> anyhow::Result<(bool, String, String)> {
    let out = Command::new(BIN)
        .args(args)
        .env("LEADLEDGER_DATABASE_URL", url)
        .env("LEADLEDGER_KAFKA_BROKERS", brokers())
        .env("LEADLEDGER_LOG", "warn")
        .output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_process_runs_as_a_read_only_database_user() -> anyhow::Result<()> {
    let dir = test_dir(TMP, "least-privilege")?;
    let name = database_name("leastpriv");
    let owner_url = format!("{}/{name}", pg_server());
    Store::create_database(&owner_url).await?;
    let owner = Store::connect(&owner_url, 1).await?;
    let role = format!("ll_ro_{}", unique());
    sqlx::query(&format!("CREATE ROLE {role} LOGIN NOSUPERUSER"))
        .execute(&owner.pool)
        .await?;
    let opts: sqlx::postgres::PgConnectOptions = owner_url.parse()?;
    let role_url = format!(
        "postgres://{role}@{}:{}/{name}",
        opts.get_host(),
        opts.get_port()
    );
    let result = scenario(&dir, &owner, &owner_url, &role, &role_url).await;
    owner.pool.close().await;
    Store::drop_database(&owner_url).await?;
    let admin = Store::connect(&format!("{}/postgres", pg_server()), 1).await?;
    sqlx::query(&format!("DROP ROLE IF EXISTS {role}"))
        .execute(&admin.pool)
        .await?;
    result
}

async fn scenario(
    dir: &std::path::Path,
    owner: &Store,
    owner_url: &str,
    role: &str,
    role_url: &str,
) -> anyhow::Result<()> {
    let settings = [
        ("kafka.brokers", brokers()),
        ("kafka.topic", format!("leastpriv.{}", unique())),
        ("kafka.headers", "false".into()),
        ("database.url", role_url.to_string()),
        ("database.migrate", "check".into()),
        ("auth.mode", "keys".into()),
    ];
    // Unmigrated: refused, naming the fix.
    let mut server = Leadledger::new(BIN, "ingest-early", "ingest", &settings, dir)?;
    let refused = server
        .start()
        .await
        .expect_err("started on an unmigrated database");
    let log = server.proc.log_tail(400);
    assert!(
        log.contains("this binary needs") && log.contains("leadledger migrate"),
        "refused for another reason: {refused:#}\n{log}"
    );

    // The owner migrates and makes a key; the role may read what ingest reads, nothing else.
    let (ok, _, err) = leadledger(owner_url, &["migrate"])?;
    assert!(ok, "migrate: {err}");
    let (ok, key, err) = leadledger(
        owner_url,
        &[
            "keys", "create", "--tenant", "acme", "--scopes", "ingest", "--quiet",
        ],
    )?;
    assert!(ok, "keys create: {err}");
    let key = key.trim().to_string();
    // Migrated, but the role may not read the migrations' ledger: refused, naming the grant.
    let mut server = Leadledger::new(BIN, "ingest-ungranted", "ingest", &settings, dir)?;
    let refused = server.start().await.expect_err("started without the grant");
    let log = server.proc.log_tail(400);
    assert!(
        log.contains("GRANT SELECT ON _sqlx_migrations"),
        "refused for another reason: {refused:#}\n{log}"
    );
    sqlx::raw_sql(&format!(
        "GRANT SELECT ON api_keys, _sqlx_migrations TO {role}; \
         GRANT SELECT, INSERT ON contact_keys TO {role}"
    ))
    .execute(&owner.pool)
    .await?;

    let mut server = Leadledger::new(BIN, "ingest", "ingest", &settings, dir)?;
    server.start().await?;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))?
        .connect()
        .await?;
    let mut client = IngestServiceClient::new(
        BearerKey::new(&key)
            .map_err(anyhow::Error::msg)?
            .on(channel),
    );
    let acked = client
        .append(pb::AppendRequest {
            tenant_id: String::new(),
            events: vec![captured("L-1", "lp-1", at(3, 1, 9), "webinar")],
        })
        .await?
        .into_inner();
    assert_eq!(acked.acks.len(), 1);

    // The role cannot touch the keys it reads.
    let as_role = Store::connect(role_url, 1).await?;
    let write = sqlx::query("DELETE FROM api_keys")
        .execute(&as_role.pool)
        .await
        .expect_err("a read-only user deleted keys");
    assert!(write.to_string().contains("permission denied"), "{write}");
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM contact_keys")
        .fetch_one(&as_role.pool)
        .await?;
    assert_eq!(made, 1, "the capture's data key");
    let destroy = sqlx::query("UPDATE contact_keys SET key = NULL, destroyed_at = now()")
        .execute(&as_role.pool)
        .await
        .expect_err("an ingest user destroyed a data key");
    assert!(
        destroy.to_string().contains("permission denied"),
        "{destroy}"
    );
    as_role.pool.close().await;
    drop(server);
    Ok(())
}
