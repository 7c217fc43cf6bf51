//! `leadledger dlq list|show|redrive` against the real broker and PostgreSQL: events that
//! could not be applied (a database constraint refused them) go to the dead letters; once the
//! constraint is removed (the fix), a redrive puts them back in the log and the projector
//! applies them; a second redrive counts nothing twice; a record that still cannot be decoded
//! is never re-appended and the command fails, saying why.
//!
//! Why a test of the `leadledger` package: see `kill.rs` (the binary's path).

use std::process::Command;
use std::time::Duration;

use leadledger_e2e::events::{at, captured, mql};
use leadledger_e2e::{append, produce_raw, scalar_retrying, TestEnv};

const BIN: &str = env!("CARGO_BIN_EXE_leadledger");
const WAIT: Duration = Duration::from_secs(45);
const T: &str = "acme";

/// Runs `leadledger dlq <args>` on the env's topic; returns (success, stdout + stderr).
fn dlq(env: &TestEnv, args: &[&str]) -> anyhow::Result<(bool, String)> {
    let out = Command::new(BIN)
        .arg("dlq")
        .args(args)
        .env("LEADLEDGER_KAFKA_BROKERS", &env.log.brokers)
        .env("LEADLEDGER_KAFKA_TOPIC", &env.log.topic)
        .env("LEADLEDGER_KAFKA_HEADERS", "false")
        .env("LEADLEDGER_LOG", "warn")
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

async fn events_of(env: &TestEnv, lead: &str) -> anyhow::Result<i64> {
    scalar_retrying(
        &env.store,
        &format!("SELECT count(*) FROM lead_events WHERE lead_id = '{lead}'"),
        WAIT,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_shown_and_redriven_once_after_a_fix() -> anyhow::Result<()> {
    let mut env = TestEnv::start(2).await?;
    // What will make two events fail: a constraint the read models will later lose.
    sqlx::query(
        "ALTER TABLE lead_events ADD CONSTRAINT test_refuses_l_poison \
         CHECK (lead_id <> 'L-POISON') NOT VALID",
    )
    .execute(&env.store.pool)
    .await?;
    let mut ingest = env.ingest().await?;
    append(
        &mut ingest,
        T,
        vec![
            captured("L-OK", "c-ok", at(3, 2, 9), "website"),
            captured("L-POISON", "c-p", at(3, 2, 9), "webinar"),
            mql("L-POISON", "m-p", at(3, 3, 9)),
        ],
    )
    .await?;
    env.wait_caught_up(WAIT).await?;
    assert_eq!(events_of(&env, "L-OK").await?, 1);
    assert_eq!(
        events_of(&env, "L-POISON").await?,
        0,
        "refused by the constraint"
    );
    let dead = env.end_offsets(&env.log.dead_letter_topic())?;
    assert_eq!(dead, vec![2], "two dead letters");

    // list: both, decodable now, with where they came from and why.
    let (ok, listed) = dlq(&env, &["list"])?;
    assert!(ok, "{listed}");
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed.lines().all(|l| l.contains("could not be applied")
            && l.contains("test_refuses_l_poison")
            && l.contains(&env.log.topic)
            && l.contains("decodes now")),
        "{listed}"
    );
    // show: one in full, as JSON.
    let (ok, shown) = dlq(&env, &["show", "1"])?;
    assert!(ok, "{shown}");
    assert!(
        shown.contains("L-POISON") && shown.contains("decodes now: yes"),
        "{shown}"
    );
    let (ok, missing) = dlq(&env, &["show", "7"])?;
    assert!(
        !ok && missing.contains("no dead letter at offset 7"),
        "{missing}"
    );

    // Before the fix a redrive would only dead-letter them again; a dry run appends nothing.
    let ends = env.end_offsets(&env.log.topic)?;
    let (ok, dry) = dlq(&env, &["redrive", "--all", "--dry-run"])?;
    assert!(
        ok && dry.contains("2 of 2 dead letters would be redriven"),
        "{dry}"
    );
    assert_eq!(
        env.end_offsets(&env.log.topic)?,
        ends,
        "a dry run appends nothing"
    );

    // The fix, then the redrive: applied, in order.
    sqlx::query("ALTER TABLE lead_events DROP CONSTRAINT test_refuses_l_poison")
        .execute(&env.store.pool)
        .await?;
    let (ok, out) = dlq(&env, &["redrive", "--all"])?;
    assert!(ok && out.contains("2 of 2 dead letters redriven"), "{out}");
    env.wait_caught_up(WAIT).await?;
    assert_eq!(events_of(&env, "L-POISON").await?, 2);
    let stage: String = sqlx::query_scalar("SELECT stage FROM leads WHERE lead_id = 'L-POISON'")
        .fetch_one(&env.store.pool)
        .await?;
    assert_eq!(stage, "mql");

    // Redriving again counts once: the copies are duplicates.
    let (ok, out) = dlq(&env, &["redrive", "--offset", "0", "--offset", "1"])?;
    assert!(ok, "{out}");
    env.wait_caught_up(WAIT).await?;
    assert_eq!(events_of(&env, "L-POISON").await?, 2);
    assert_eq!(
        scalar_retrying(&env.store, "SELECT count(*) FROM leads", WAIT).await?,
        2
    );

    // A record that cannot be decoded is never re-appended; the command fails and says why.
    produce_raw(
        &env.log.brokers,
        &env.log.topic,
        "L-X",
        b"not an event",
        None,
    )
    .await?;
    env.wait_caught_up(WAIT).await?;
    assert_eq!(env.end_offsets(&env.log.dead_letter_topic())?, vec![3]);
    let ends = env.end_offsets(&env.log.topic)?;
    let (ok, out) = dlq(&env, &["redrive", "--offset", "2"])?;
    assert!(!ok, "redriving an undecodable record succeeded: {out}");
    assert!(out.contains("still cannot be decoded"), "{out}");
    assert_eq!(
        env.end_offsets(&env.log.topic)?,
        ends,
        "nothing re-appended"
    );

    let totals = env.stop_projector().await?;
    assert_eq!(totals.dead_letters, 3, "{totals:?}");
    assert_eq!(
        totals.duplicates, 2,
        "the second redrive's copies: {totals:?}"
    );
    env.cleanup().await
}
