//! Projector throughput: `leadledger_workers::projector::run` (production settings:
//! `batch_max` 2000, 2 ms linger) on a fresh database over a topic already filled, with a
//! fresh consumer group, so it starts at offset 0.
//!
//! Timed: from spawning the projector (consumer creation and group join included, as in the
//! raw consumer baseline) until the checkpoints stored in PostgreSQL reach the topic's end
//! offsets. Checkpoints are polled every 10 ms (one indexed read; the overshoot is at most
//! one poll interval).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use leadledger_log::LogConfig;
use leadledger_store::checkpoints::{self, CORE};
use leadledger_store::Store;
use leadledger_workers::projector::{self, ProjectorConfig, Totals};
use tokio_util::sync::CancellationToken;

use crate::measure::Throughput;
use crate::setup::unique;

/// Longest the projector may take before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(600);

/// What the projector phase measured.
pub struct ProjectorRun {
    pub run: Throughput,
    pub totals: Totals,
}

/// Projects `log`'s topic (`events` records ending at `ends`) into `store`.
pub async fn run(
    log: &LogConfig,
    store: &Store,
    ends: &BTreeMap<i32, i64>,
    events: usize,
) -> anyhow::Result<ProjectorRun> {
    let mut cfg = ProjectorConfig::new(log.clone());
    cfg.group = format!("{}.bench-projector-{}", log.topic, unique());
    let stop = CancellationToken::new();
    let started = Instant::now();
    let task = tokio::spawn(projector::run(
        projector::Deps {
            cfg,
            store: store.clone(),
        },
        stop.clone(),
    ));
    let mut first = None;
    loop {
        let cp = checkpoints::load(&store.pool, CORE, &log.topic).await?;
        if first.is_none() && !cp.is_empty() {
            first = Some(started.elapsed());
        }
        if ends
            .iter()
            .all(|(p, end)| cp.get(p).copied().unwrap_or(0) >= *end)
        {
            break;
        }
        if task.is_finished() {
            let outcome = task.await?;
            anyhow::bail!("the projector stopped early: {outcome:?}");
        }
        anyhow::ensure!(
            started.elapsed() < PATIENCE,
            "the projector did not reach {ends:?} in {PATIENCE:?} (at {cp:?})"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    stop.cancel();
    let totals = task.await??;
    Ok(ProjectorRun {
        run: Throughput {
            events,
            elapsed,
            startup: first,
            warmup: None,
        },
        totals,
    })
}
