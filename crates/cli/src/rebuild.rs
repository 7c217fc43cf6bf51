//! `leadledger rebuild`: the read models projected again from offset 0 into a shadow schema
//! while the service keeps serving, then swapped in (`leadledger_workers::rebuild`).

use std::time::Duration;

use leadledger_projection::Derivations;
use leadledger_workers::credits::CreditsConfig;
use leadledger_workers::rebuild::{self, RebuildConfig};
use tokio_util::sync::CancellationToken;

use crate::config::Config;

#[derive(clap::Args)]
pub struct Args {
    /// Keep the old read models (renamed `<schema>_retired_<time>`) instead of dropping them.
    #[arg(long)]
    keep_retired: bool,
    /// Swap once the shadow starts a round at most this many records behind the live
    /// checkpoints (what is left is applied while queries wait for the swap).
    #[arg(long, default_value_t = 1000)]
    close_gap: i64,
    /// Longest time queries wait for one swap attempt (taking the live tables' locks and
    /// applying what the shadow still lacks), in milliseconds; a longer attempt gives way and
    /// is tried again.
    #[arg(long, default_value_t = 2000)]
    max_pause_ms: u64,
}

pub async fn run(cfg: &Config, args: Args) -> anyhow::Result<()> {
    let store = crate::serve::migrate(cfg).await?;
    let mut rc = RebuildConfig::new(
        cfg.log.clone(),
        std::sync::Arc::new(Derivations {
            sla: cfg.sla.clone(),
        }),
        CreditsConfig::new(cfg.attribution.clone()),
    );
    rc.batch_max = cfg.batch_max.max(rc.batch_max);
    rc.keep_retired = args.keep_retired;
    rc.close_gap = args.close_gap;
    rc.max_pause = Duration::from_millis(args.max_pause_ms);
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    let done = rebuild::run(&store, &rc, &stop).await?;
    println!(
        "rebuilt schema {}: {} records read, {} events applied, {} duplicates, {} skipped, in {:.1} s; \
         queries waited {} ms for the swap; old read models {} {}",
        done.live,
        done.records,
        done.applied,
        done.duplicates,
        done.skipped,
        done.elapsed.as_secs_f64(),
        done.paused.as_millis(),
        if done.retired_dropped { "dropped" } else { "kept as" },
        if done.retired_dropped { "" } else { done.retired.as_str() },
    );
    Ok(())
}
