//! A database that goes back in time under an idle projector: PostgreSQL crashed and took
//! back the last asynchronous commits (the projection commits with
//! `synchronous_commit = off`), or the read models were restored from a backup. The last
//! batch of a partition that receives nothing more must still be applied again — by the
//! projector noticing on its own, within seconds, not when the next record of that partition
//! arrives (which may be never) nor after the 60 s stall watchdog.
//!
//! The loss is made exact and deterministic: the checkpoints of every partition are moved
//! back by up to 25 records while the projector is idle (the records' rows stay, as when a
//! backup holds them but an older checkpoint). The projector must read those records again,
//! find them all already applied (duplicates, nothing counted twice), and bring every
//! checkpoint back to the end of the log with no new record appended.

use std::time::{Duration, Instant};

use leadledger_e2e::workload::{assert_exact, funnel_workload, ms, send_all, Expected};
use leadledger_e2e::{dump_read_models, TestEnv};
use leadledger_store::checkpoints::{self, CORE};

const WAIT: Duration = Duration::from_secs(45);
/// The bound this test holds the projector to: two verification ticks (2 s each) plus a
/// re-read of 75 records, with room for a loaded 2-core machine. Before the verification
/// existed the same loss stayed until the 60 s stall watchdog.
const NOTICED_WITHIN: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_projector_applies_again_what_the_database_took_back() -> anyhow::Result<()> {
    let mut env = TestEnv::start(3).await?;
    let leads = 60;
    send_all(env.addr, funnel_workload(leads), 40).await?;
    env.wait_caught_up(WAIT).await?;
    assert_exact(&env.store, Expected::of(leads)).await?;
    let before = dump_read_models(&env.store).await?;
    let ends = env.end_offsets(&env.log.topic)?;

    // The database forgets the last records of every partition (nothing else is appended
    // from here on: no later batch can reveal the loss).
    let stored = checkpoints::load(&env.store.pool, CORE, &env.log.topic).await?;
    let mut taken_back = 0;
    for (p, at) in &stored {
        let back = (*at).min(25);
        taken_back += back;
        sqlx::query(
            "UPDATE projector_checkpoints SET next_offset = next_offset - $1 \
             WHERE projection = $2 AND topic = $3 AND partition = $4",
        )
        .bind(back)
        .bind(CORE)
        .bind(&env.log.topic)
        .bind(p)
        .execute(&env.store.pool)
        .await?;
    }
    anyhow::ensure!(taken_back > 0, "no checkpoint to move back: {stored:?}");
    let moved = Instant::now();

    // Noticed and applied again, with nothing appended.
    env.wait_caught_up(NOTICED_WITHIN).await.map_err(|e| {
        anyhow::anyhow!("the projector did not apply again what the database took back: {e}")
    })?;
    let noticed = moved.elapsed();
    assert_eq!(
        env.end_offsets(&env.log.topic)?,
        ends,
        "nothing was appended meanwhile"
    );

    let totals = env.stop_projector().await?;
    assert!(
        totals.rewinds >= 1,
        "the projector never read a partition again: {totals:?}"
    );
    assert_eq!(
        u64::try_from(taken_back)?,
        totals.duplicates,
        "every record read again was already applied, and only those: {totals:?}"
    );
    assert_exact(&env.store, Expected::of(leads)).await?;
    let after = dump_read_models(&env.store).await?;
    leadledger_e2e::assert_same_rows(&after, &before, "read models after the re-read");
    eprintln!(
        "lost commits: {taken_back} records taken back over {} partitions, all applied \
         again (as duplicates) in {} ms; {totals:?}",
        stored.len(),
        ms(noticed)
    );
    env.cleanup().await
}
