//! `leadledger rebuild` online (issue 16): the read models projected again from offset 0 into
//! a shadow schema while ingest, the projector, the credits worker and queries go on, then
//! swapped in. A query never sees a half-built projection, nothing applied is lost, what is
//! not derived from the log (API keys, BI grants and privileges) survives, the live projector
//! carries on in the new schema, and the result equals a replay. A schema holding objects
//! that are not leadledger's is refused and left as it was.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use leadledger_attribution::precompute::ModelSet;
use leadledger_e2e::{append, assert_same_rows, dump_credits, dump_read_models, unique, TestEnv};
use leadledger_store::Store;
use leadledger_workers::credits::{self, CreditsConfig};
use leadledger_workers::rebuild::{self, RebuildConfig};
use tokio_util::sync::CancellationToken;

const T: &str = "acme";

fn quarter(seed: u64, leads: usize) -> Vec<leadledger_api::pb::Event> {
    leadledger_sim::generate(&leadledger_sim::SimConfig {
        seed,
        leads,
        tenant: T.into(),
        duplicate_rate: 0.05,
        ..Default::default()
    })
    .deliveries
}

/// What a reader of the live read models sees, in one statement (one snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    leads: i64,
    events: i64,
    credits: i64,
}

async fn seen(store: &Store) -> anyhow::Result<Seen> {
    let (leads, events, credits): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM leads), (SELECT count(*) FROM lead_events), \
                (SELECT count(*) FROM attribution_credits)",
    )
    .fetch_one(&store.pool)
    .await?;
    Ok(Seen {
        leads,
        events,
        credits,
    })
}

/// Leads in the shadow schema, if it exists now.
async fn shadow_leads(store: &Store) -> anyhow::Result<Option<i64>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('public_rebuild.leads') IS NOT NULL")
        .fetch_one(&store.pool)
        .await?;
    if !exists {
        return Ok(None);
    }
    // The shadow may be dropped or renamed between the two statements.
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM public_rebuild.leads")
            .fetch_one(&store.pool)
            .await
            .ok(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_swaps_in_a_whole_projection_while_the_service_serves() -> anyhow::Result<()> {
    let mut env = TestEnv::start(3).await?;
    // Not derived from the log: an API key and a BI role reading tenant acme.
    env.create_key(T, &["query"]).await?;
    // A webhook subscription with a position and a dead letter: not derived from the log.
    sqlx::raw_sql(
        "INSERT INTO webhook_subscriptions (subscription_id, tenant_id, url, secret, kinds) \
           VALUES ('wh_keep', 'acme', 'https://hooks.example.com/x', 's3cret-s3cret-s3cret', \
             '{breached}'); \
         INSERT INTO webhook_cursors (subscription_id, log_partition, last_offset, attempts, \
             last_error) VALUES ('wh_keep', 0, 41, 2, 'HTTP 503'); \
         INSERT INTO webhook_dead_letters (subscription_id, event_id, tenant_id, lead_id, \
             log_partition, log_offset, attempts, last_error, failed_at, body) \
           VALUES ('wh_keep', gen_random_uuid(), 'acme', 'L1', 0, 7, 8, 'HTTP 500', now(), '{}')",
    )
    .execute(&env.store.pool)
    .await?;
    let bi_role = format!("bi_rebuild_{}", unique());
    leadledger_store::bi::grant(&env.store.pool, &bi_role, T).await?;

    let mut ingest = env.ingest().await?;
    for chunk in quarter(21, 300).chunks(400) {
        append(&mut ingest, T, chunk.to_vec()).await?;
    }
    env.wait_caught_up(Duration::from_secs(120)).await?;
    env.wait_credits_caught_up(Duration::from_secs(120)).await?;
    let before = seen(&env.store).await?;
    assert!(before.leads >= 300 && before.credits > 0, "{before:?}");

    // During the rebuild: a second quarter is ingested, and a reader keeps looking.
    let done = Arc::new(AtomicBool::new(false));
    let later = quarter(22, 150);
    let writer = {
        let mut ingest = env.ingest().await?;
        let done = done.clone();
        tokio::spawn(async move {
            let mut sent = 0;
            for chunk in later.chunks(50) {
                append(&mut ingest, T, chunk.to_vec()).await?;
                sent += chunk.len();
                if done.load(Ordering::Relaxed) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            anyhow::Ok(sent)
        })
    };
    let reader = {
        let store = env.store.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut shadow_partial = 0usize;
            while !done.load(Ordering::Relaxed) {
                let s = seen(&store).await?;
                if let Some(n) = shadow_leads(&store).await? {
                    if n < s.leads {
                        shadow_partial += 1;
                    }
                }
                samples.push(s);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            anyhow::Ok((samples, shadow_partial))
        })
    };

    let cfg = RebuildConfig::new(
        env.log.clone(),
        env.derive.clone(),
        CreditsConfig::new(ModelSet::default_set()),
    );
    let out = rebuild::run(&env.store, &cfg, &CancellationToken::new()).await?;
    // A little more traffic lands after the swap, then everything stops.
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, Ordering::Relaxed);
    let sent = writer.await??;
    let (samples, shadow_partial) = reader.await??;
    eprintln!(
        "rebuild: {out:?}; {} reads during it, {shadow_partial} while the shadow was partial; \
         {sent} deliveries appended meanwhile",
        samples.len()
    );

    // The reader saw the rebuild's window (the shadow filling up) and never a half-built
    // projection: nothing went backwards, credits never vanished.
    assert!(
        shadow_partial > 0,
        "the reader never saw the shadow partly built"
    );
    let mut last = before;
    for s in &samples {
        assert!(
            s.leads >= last.leads && s.events >= last.events && s.credits > 0,
            "a read went backwards or lost its credits: {s:?} after {last:?}"
        );
        last = *s;
    }
    assert_eq!(
        out.records,
        out.applied + out.duplicates + out.skipped,
        "{out:?}"
    );
    assert_eq!(out.skipped, 0, "{out:?}");
    assert!(out.retired_dropped && out.live == "public", "{out:?}");
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'public%' ORDER BY 1",
    )
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(schemas, ["public"], "shadow and retired schemas are gone");
    // The live projector and credits worker carried on in the new schema: caught up with
    // the whole log, and equal to a replay of it.
    env.wait_caught_up(Duration::from_secs(120)).await?;
    env.wait_credits_caught_up(Duration::from_secs(120)).await?;
    // The contacts' data keys, made in the live schema before and during the rebuild, moved
    // with the swap: every captured lead has its key and its contact opened.
    let (captured, keyed, opened): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM contact_keys k \
           WHERE k.tenant_id = l.tenant_id AND k.lead_id = l.lead_id AND k.key IS NOT NULL)), \
           count(*) FILTER (WHERE l.email <> '' OR l.phone <> '') \
         FROM leads l WHERE l.captured_at IS NOT NULL",
    )
    .fetch_one(&env.store.pool)
    .await?;
    assert!(captured >= 300, "{captured}");
    assert_eq!(
        (keyed, opened),
        (captured, captured),
        "keys and contacts after the swap"
    );

    let live_rows = dump_read_models(&env.store).await?;
    let live_credits = dump_credits(&env.store).await?;
    let replay = env.replay("rebuild_replay").await?;
    credits::rebuild(
        &replay,
        &env.log.topic,
        &CreditsConfig::new(ModelSet::default_set()),
        Duration::from_secs(120),
    )
    .await?;
    assert_same_rows(&live_rows, &dump_read_models(&replay).await?, "read models");
    assert_same_rows(&live_credits, &dump_credits(&replay).await?, "credits");

    // What is not derived from the log came along: the key, and the BI role's privileges
    // and grant (it reads acme's leads through row-level security in the new schema).
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys")
        .fetch_one(&env.store.pool)
        .await?;
    assert_eq!(keys, 1);
    let webhooks: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM webhook_subscriptions WHERE subscription_id = 'wh_keep'), \
           (SELECT count(*) FROM webhook_cursors WHERE last_offset = 41 AND attempts = 2), \
           (SELECT count(*) FROM webhook_dead_letters WHERE log_offset = 7)",
    )
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(
        webhooks,
        (1, 1, 1),
        "webhook subscriptions, positions, dead letters"
    );
    let mut tx = env.store.pool.begin().await?;
    sqlx::raw_sql(&format!("SET LOCAL ROLE {bi_role}"))
        .execute(&mut *tx)
        .await?;
    let bi_cells: i64 = sqlx::query_scalar("SELECT count(*) FROM funnel_counts")
        .fetch_one(&mut *tx)
        .await?;
    let as_bi: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&mut *tx)
        .await?;
    // The BI contract reads the new schema (the retired one, which its views read before
    // the swap, is dropped): the month cells count every lead, the velocity view has a row
    // per lead.
    let (contract_cells, contract_leads): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT coalesce(sum(captured), 0)::int8 FROM bi.funnel_months), \
                (SELECT count(*) FROM bi.lead_velocity)",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.rollback().await?;
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&env.store.pool)
        .await?;
    assert!(bi_cells > 0, "the BI role reads the documented views");
    assert_eq!(as_bi, all, "the BI role reads acme's leads after the swap");
    assert_eq!(
        (contract_cells, contract_leads),
        (all, all),
        "the BI contract reads the new schema"
    );

    sqlx::raw_sql(&format!("DROP OWNED BY {bi_role}; DROP ROLE {bi_role}"))
        .execute(&env.store.pool)
        .await?;
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_refuses_to_retire_what_is_not_leadledgers() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    append(&mut ingest, T, quarter(23, 20)).await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;
    // Someone else's table and function in the read models' schema.
    sqlx::raw_sql(
        "CREATE TABLE marketing_notes (id int); \
         CREATE FUNCTION notes_count() RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint'",
    )
    .execute(&env.store.pool)
    .await?;
    let before = dump_read_models(&env.store).await?;
    let cfg = RebuildConfig::new(
        env.log.clone(),
        env.derive.clone(),
        CreditsConfig::new(ModelSet::default_set()),
    );
    let err = rebuild::run(&env.store, &cfg, &CancellationToken::new())
        .await
        .expect_err("a rebuild that would retire foreign objects");
    let msg = err.to_string();
    assert!(
        msg.contains("marketing_notes") && msg.contains("notes_count"),
        "{msg}"
    );
    // Nothing changed: no shadow left, the live read models as they were.
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'public%' ORDER BY 1",
    )
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(schemas, ["public"]);
    assert_same_rows(
        &dump_read_models(&env.store).await?,
        &before,
        "live read models",
    );
    env.cleanup().await
}
