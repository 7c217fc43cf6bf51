//! Helpers for the tests of merged groups and linked visitors (`tests/identity.rs`,
//! `tests/visitors.rs`): the rows two ledgers told the same facts differently must share, and
//! a second projector in a test's consumer group (also `tests/faults.rs`'s rebalance).

use std::time::Duration;

use leadledger_store::Store;
use leadledger_workers::projector::{self, ProjectorConfig, ProjectorError, Totals};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{append, dump_credits, dump_read_models, partitions_moved_by, TestEnv};

/// The rows two ledgers told the same facts under different ids must share: every read model
/// but the timeline rows (filed under the lead or visitor that was told), the checkpoints and
/// the identity tables (of the merging or linking ledger only), the SLA clocks without the
/// record times of the facts that ended them (the ledgers were told at different instants),
/// and the precomputed credits.
pub async fn ledger_figures(env: &TestEnv) -> anyhow::Result<Vec<String>> {
    env.wait_caught_up(Duration::from_secs(60)).await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    let mut rows: Vec<String> = dump_read_models(&env.store)
        .await?
        .into_iter()
        .filter(|r| {
            ![
                "lead_events: ",
                "projector_checkpoints: ",
                "lead_merges: ",
                "identity_decisions: ",
                "visitor_links: ",
                "sla_clocks: ",
            ]
            .iter()
            .any(|t| r.starts_with(t))
        })
        .collect();
    let clocks: Vec<String> = sqlx::query_scalar(
        "SELECT (t.tenant_id, t.lead_id, t.policy_id, t.start_event_id, t.started_at, \
         t.at_risk_at, t.due_at, t.status, t.ended_at, t.end_event_id, t.stop_reason, \
         t.breached_at, t.paused_at, t.escalation_step)::text \
         FROM sla_clocks t ORDER BY tenant_id, lead_id, policy_id, start_event_id",
    )
    .fetch_all(&env.store.pool)
    .await?;
    rows.extend(clocks.into_iter().map(|c| format!("sla_clocks: {c}")));
    rows.extend(
        dump_credits(&env.store)
            .await?
            .into_iter()
            .filter(|r| !r.starts_with("attribution_state: ")),
    );
    Ok(rows)
}

/// A second in-process projector in `env`'s consumer group, with `env`'s batch size and its
/// database connections named `app` (so `partitions_moved_by` tells its commits apart).
pub struct SecondProjector {
    pub store: Store,
    stop: CancellationToken,
    task: JoinHandle<Result<Totals, ProjectorError>>,
}

impl SecondProjector {
    pub async fn start(env: &TestEnv, app: &str) -> anyhow::Result<Self> {
        let store = Store::connect(&format!("{}?application_name={app}", env.db_url), 4).await?;
        let stop = CancellationToken::new();
        let mut cfg = ProjectorConfig::new(env.log.clone());
        cfg.group = env.projector_group().to_string();
        cfg.batch_max = env.projector_batch_max;
        let task = tokio::spawn(projector::run(
            projector::Deps {
                cfg,
                store: store.clone(),
            },
            stop.clone(),
        ));
        Ok(Self { store, stop, task })
    }

    /// Appends facts of filler leads (`L-FILL*`, one every 200 ms) until this projector has
    /// applied a partition: the group's partitions are then split between the two.
    pub async fn wait_until_it_applies(
        &self,
        env: &TestEnv,
        tenant: &str,
        app: &str,
    ) -> anyhow::Result<()> {
        let mut ingest = env.ingest().await?;
        let joined = std::time::Instant::now();
        let mut k = 0;
        while partitions_moved_by(&env.store, app).await?.is_empty() {
            anyhow::ensure!(
                joined.elapsed() < Duration::from_secs(90),
                "the second projector never applied a partition"
            );
            k += 1;
            let e = crate::events::touch(
                &format!("L-FILL{}", k % 8),
                &format!("f{k}"),
                crate::events::at(4, 1, 8),
                "sem",
            );
            append(&mut ingest, tenant, vec![e]).await?;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    /// Tells it to leave the group (it finishes its batch and stops); [`Self::stop`] waits.
    pub fn leave(&self) {
        self.stop.cancel();
    }

    /// Stops it (if [`Self::leave`] has not), waits for it and closes its connections.
    pub async fn stop(self) -> anyhow::Result<Totals> {
        self.stop.cancel();
        let totals = self.task.await??;
        self.store.pool.close().await;
        Ok(totals)
    }
}
