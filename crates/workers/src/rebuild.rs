//! `leadledger rebuild`: the read models projected again from offset 0 into a shadow schema
//! while the live ones keep serving, then swapped in at once.
//!
//! 1. One rebuild at a time (a session advisory lock). The shadow schema is created empty
//!    and the ordinary migrations build the read models in it.
//! 2. A consumer of its own (no group offsets: it assigns every partition at offset 0) reads
//!    the log and applies it to the shadow batch by batch, exactly as the projector does
//!    (`projector::batch::apply`, one transaction per batch with the shadow's checkpoints),
//!    round after round towards the live checkpoints, which keep moving, until a round
//!    starts less than `close_gap` records behind. The shadow's credits are then computed.
//! 3. The swap ([`leadledger_store::rebuild::Swap`]): every live table is locked (queries and
//!    the live projector wait), the shadow applies the few records still between it and the
//!    now frozen live checkpoints and its credits follow, the API keys and BI grants are
//!    copied, and the schemas are renamed in the same transaction. Queries waited for the
//!    swap only (`paused` in the outcome); before it they read the old read models, after it
//!    the new ones, never a half-built one.
//! 4. The live projector carries on in the new schema: its next batch starts at the
//!    checkpoint it knew, which the shadow reached (records the shadow applied beyond it
//!    arrive as duplicates and are skipped by their ids). The old schema is dropped unless
//!    it is to be kept.
//!
//! Records that cannot be decoded or applied are skipped and counted: the live projector
//! dead-lettered them when it met them, and a rebuild must not send them again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leadledger_log::consumer::consumer_config;
use leadledger_log::LogConfig;
use leadledger_projection::Derivations;
use leadledger_store::projection::Record;
use leadledger_store::rebuild::{self as schema, Swap};
use leadledger_store::{checkpoints, lock, Store, StoreError};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use sqlx::PgConnection;

use crate::credits::{self, CreditsConfig};
use crate::projector::batch;
use crate::retry;
use crate::Shutdown;

/// Rebuild settings.
#[derive(Debug, Clone)]
pub struct RebuildConfig {
    pub log: LogConfig,
    /// Most records per shadow transaction.
    pub batch_max: usize,
    /// The derivations the read models are built with (the projector's).
    pub derive: Arc<Derivations>,
    /// The credits kept beside them (the credits worker's).
    pub credits: CreditsConfig,
    /// Keep the retired schema instead of dropping it after the swap.
    pub keep_retired: bool,
    /// The longest queries wait for one swap attempt: taking every table lock and applying
    /// what the shadow still lacks. An attempt that would take longer gives way (rolled
    /// back, nothing changed) and is tried again.
    pub max_pause: Duration,
    /// The swap is attempted once a round starts at most this many records behind the live
    /// checkpoints: what is left is applied while queries wait.
    pub close_gap: i64,
}

impl RebuildConfig {
    pub fn new(log: LogConfig, derive: Arc<Derivations>, credits: CreditsConfig) -> Self {
        Self {
            log,
            batch_max: 5_000,
            derive,
            credits,
            keep_retired: false,
            max_pause: Duration::from_secs(2),
            close_gap: 1_000,
        }
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, Default)]
pub struct Rebuilt {
    /// The schema the read models live in (same name before and after).
    pub live: String,
    /// The name the old read models were given (dropped unless kept).
    pub retired: String,
    pub retired_dropped: bool,
    /// Records read from the log, events applied, duplicates, records skipped.
    pub records: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub skipped: u64,
    /// How long queries and the live projector waited for the swap.
    pub paused: Duration,
    pub elapsed: Duration,
}

/// Errors that stop a rebuild (the live read models are untouched by any of them).
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("another rebuild of this database is running")]
    Busy,
    #[error(
        "the log grows faster than the rebuild applies it: still {behind} records behind the \
         live checkpoints after {rounds} rounds without gaining; try again at a quieter time"
    )]
    Outpaced { behind: i64, rounds: usize },
    #[error("the swap found no moment to take the live tables within {0} attempts")]
    NoSwap(usize),
    #[error("stopped before the swap; the live read models are unchanged")]
    Stopped,
    #[error("a swap attempt spent its pause before the shadow was level")]
    PauseSpent,
    #[error("no record arrived for {0:?} while the shadow was behind the live checkpoints")]
    Stuck(Duration),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("log: {0}")]
    Log(#[from] leadledger_log::LogError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Longest wait for a record while the shadow is behind.
const STUCK_AFTER: Duration = Duration::from_secs(60);
/// Swap attempts before giving up (each pauses queries at most `max_pause`).
const SWAP_ATTEMPTS: usize = 30;
/// Catch-up rounds in a row that may end no closer to the live checkpoints.
const STALLED_ROUNDS: usize = 20;

/// Rebuilds the read models of `live` (the service's store) and swaps them in.
pub async fn run(
    live: &Store,
    cfg: &RebuildConfig,
    stop: &Shutdown,
) -> Result<Rebuilt, RebuildError> {
    let started = Instant::now();
    let mut guard: PgConnection = live
        .pool
        .acquire()
        .await
        .map_err(StoreError::from)?
        .detach();
    if !lock::try_lock(&mut guard, schema::LOCK_KEY).await? {
        return Err(RebuildError::Busy);
    }
    let live_name = schema::live_schema(&live.pool).await?;
    schema::check_may_rebuild(&live.pool, &live_name).await?;
    let shadow_name = schema::shadow_name(&live_name);
    schema::prepare_shadow(&live.pool, &shadow_name).await?;
    let mut out = Rebuilt {
        live: live_name.clone(),
        ..Default::default()
    };
    let mut shadow = None;
    let result = async {
        let store = live.in_schema(&shadow_name, 4).await?;
        shadow = Some(store.clone());
        store.migrate().await?;
        schema::share_contact_keys(&live.pool, &live_name, &shadow_name).await?;
        schema::refuse_foreign(&live.pool, &live_name, &shadow_name).await?;
        tracing::info!(live = %live_name, shadow = %shadow_name, "rebuild: projecting the log from offset 0 into the shadow schema");
        let mut reader = Reader::new(cfg, &store)?;
        catch_up(live, &mut reader, cfg, stop).await?;
        let mut conn = store.pool.acquire().await.map_err(StoreError::from)?.detach();
        credits::level_alone(&mut conn, &cfg.log.topic, &cfg.credits).await?;
        swap(live, &mut reader, &mut conn, cfg, stop, &mut out).await?;
        Ok(reader.out)
    }
    .await;
    if let Some(s) = shadow {
        s.pool.close().await;
    }
    let counts = match result {
        Ok(counts) => counts,
        Err(e) => {
            let _ = schema::drop_schema(&live.pool, &shadow_name).await;
            return Err(e);
        }
    };
    // Swapped: from here on nothing fails the rebuild.
    if !cfg.keep_retired {
        match schema::drop_schema(&live.pool, &out.retired).await {
            Ok(()) => out.retired_dropped = true,
            Err(e) => {
                tracing::warn!(error = %e, retired = %out.retired, "rebuild: swapped in, but the old read models could not be dropped; drop the schema by hand")
            }
        }
    }
    let _ = lock::unlock(&mut guard, schema::LOCK_KEY).await;
    out = Rebuilt {
        records: counts.records,
        applied: counts.applied,
        duplicates: counts.duplicates,
        skipped: counts.skipped,
        elapsed: started.elapsed(),
        ..out
    };
    tracing::info!(?out, "rebuild: swapped in");
    Ok(out)
}

/// Rounds towards the moving live checkpoints until one starts at most `close_gap` behind.
async fn catch_up(
    live: &Store,
    reader: &mut Reader,
    cfg: &RebuildConfig,
    stop: &Shutdown,
) -> Result<(), RebuildError> {
    let (mut best, mut stalled) = (i64::MAX, 0);
    loop {
        let target = checkpoints::load(&live.pool, checkpoints::CORE, &cfg.log.topic).await?;
        let gap = reader.behind(&target);
        if gap <= cfg.close_gap {
            return Ok(());
        }
        if gap < best {
            (best, stalled) = (gap, 0);
        } else {
            stalled += 1;
            if stalled >= STALLED_ROUNDS {
                return Err(RebuildError::Outpaced {
                    behind: gap,
                    rounds: stalled,
                });
            }
        }
        tracing::info!(
            behind = gap,
            applied = reader.out.applied,
            "rebuild: catching up with the live checkpoints"
        );
        reader.reach(&target, None, stop).await?;
    }
}

/// The swap, tried again while it meets live transactions or cannot finish within
/// `max_pause`.
async fn swap(
    live: &Store,
    reader: &mut Reader,
    credits_conn: &mut PgConnection,
    cfg: &RebuildConfig,
    stop: &Shutdown,
    out: &mut Rebuilt,
) -> Result<(), RebuildError> {
    let mut backoff = retry::Backoff::new();
    for attempt in 1..=SWAP_ATTEMPTS {
        if stop.is_cancelled() {
            return Err(RebuildError::Stopped);
        }
        // Close what opened since the last round without holding anything.
        let target = checkpoints::load(&live.pool, checkpoints::CORE, &cfg.log.topic).await?;
        reader.reach(&target, None, stop).await?;
        credits::level_alone(credits_conn, &cfg.log.topic, &cfg.credits).await?;
        let waited = Instant::now();
        let attempt_result = async {
            let swap = Swap::begin(&live.pool, &out.live, &cfg.log.topic, cfg.max_pause).await?;
            // Queries wait from here: what is left is applied within the pause's budget.
            let deadline = waited + cfg.max_pause;
            let frozen = swap.checkpoints.clone();
            reader.reach(&frozen, Some(deadline), stop).await?;
            credits::level_alone(credits_conn, &cfg.log.topic, &cfg.credits).await?;
            let retired = schema::retired_name(&out.live, chrono::Utc::now());
            swap.finish(&schema::shadow_name(&out.live), &retired)
                .await?;
            Ok::<_, RebuildError>(retired)
        }
        .await;
        match attempt_result {
            Ok(retired) => {
                out.retired = retired;
                out.paused = waited.elapsed();
                return Ok(());
            }
            Err(RebuildError::Store(e)) if schema::is_lock_conflict(&e) => {
                tracing::info!(error = %e, attempt, "rebuild: the swap gave way to live transactions; trying again");
            }
            Err(RebuildError::PauseSpent) => {
                tracing::info!(
                    attempt,
                    "rebuild: what was left took longer than the pause allows; trying again"
                );
            }
            Err(e) => return Err(e),
        }
        // Apart, and further apart each time, so attempts do not meet the same transactions.
        backoff.wait().await;
    }
    Err(RebuildError::NoSwap(SWAP_ATTEMPTS))
}

/// The rebuild's reader: every partition from offset 0, applied to the shadow.
struct Reader {
    consumer: StreamConsumer,
    topic: String,
    shadow: Store,
    batch_max: usize,
    derive: Arc<Derivations>,
    /// Next offset to apply, per partition.
    next: BTreeMap<i32, i64>,
    out: Rebuilt,
}

impl Reader {
    fn new(cfg: &RebuildConfig, shadow: &Store) -> Result<Self, RebuildError> {
        let mut c = consumer_config(&cfg.log.brokers, &format!("{}.rebuild", cfg.log.topic));
        leadledger_log::config::apply_properties(&mut c, &cfg.log.properties);
        let consumer: StreamConsumer = c.create()?;
        let partitions = leadledger_log::admin::partitions(
            consumer.client(),
            &cfg.log.topic,
            Duration::from_secs(10),
        )?;
        let mut tpl = TopicPartitionList::new();
        for p in &partitions {
            tpl.add_partition_offset(&cfg.log.topic, *p, Offset::Beginning)?;
        }
        consumer.assign(&tpl)?;
        Ok(Self {
            consumer,
            topic: cfg.log.topic.clone(),
            shadow: shadow.clone(),
            batch_max: cfg.batch_max,
            derive: cfg.derive.clone(),
            next: partitions.into_iter().map(|p| (p, 0)).collect(),
            out: Rebuilt::default(),
        })
    }

    /// Records between the shadow and `target`.
    fn behind(&self, target: &BTreeMap<i32, i64>) -> i64 {
        target
            .iter()
            .map(|(p, t)| (t - self.next.get(p).copied().unwrap_or(0)).max(0))
            .sum()
    }

    /// Applies records until every partition has reached `target` (some may go beyond it),
    /// giving up with [`RebuildError::PauseSpent`] at `deadline` (between batches: a record
    /// received is always applied).
    async fn reach(
        &mut self,
        target: &BTreeMap<i32, i64>,
        deadline: Option<Instant>,
        stop: &Shutdown,
    ) -> Result<(), RebuildError> {
        while self.behind(target) > 0 {
            if stop.is_cancelled() {
                return Err(RebuildError::Stopped);
            }
            let wait = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) => left.min(STUCK_AFTER),
                    None => return Err(RebuildError::PauseSpent),
                },
                None => STUCK_AFTER,
            };
            let first = match tokio::time::timeout(wait, self.consumer.recv()).await {
                Err(_) if deadline.is_some() => return Err(RebuildError::PauseSpent),
                Err(_) => return Err(RebuildError::Stuck(STUCK_AFTER)),
                Ok(m) => m?.detach(),
            };
            let mut batch = vec![first];
            while batch.len() < self.batch_max {
                match tokio::time::timeout(Duration::from_millis(5), self.consumer.recv()).await {
                    Ok(Ok(m)) => batch.push(m.detach()),
                    _ => break,
                }
            }
            self.apply(&batch).await?;
        }
        Ok(())
    }

    /// Applies one batch to the shadow; a batch that fails for a reason other than the
    /// database's availability is applied record by record, skipping what fails alone.
    async fn apply(&mut self, batch: &[OwnedMessage]) -> Result<(), RebuildError> {
        let mut records = Vec::with_capacity(batch.len());
        let mut next_offsets = BTreeMap::new();
        for m in batch {
            if m.offset() < self.next.get(&m.partition()).copied().unwrap_or(0) {
                continue;
            }
            next_offsets.insert(m.partition(), m.offset() + 1);
            self.out.records += 1;
            match leadledger_log::decode::decode(m) {
                Ok(d) => records.push(batch::record(m, d.event, d.body)),
                Err(reason) => {
                    tracing::warn!(partition = m.partition(), offset = m.offset(), %reason, "rebuild: skipping a record the projector dead-lettered");
                    self.out.skipped += 1;
                }
            }
        }
        if next_offsets.is_empty() {
            return Ok(());
        }
        let committed = batch::continues_from(&self.next, &next_offsets);
        let pool = &self.shadow.pool;
        let (topic, derive) = (&self.topic, &self.derive);
        let whole = retry::transient(|| {
            batch::apply(pool, topic, &records, &committed, &next_offsets, derive)
        })
        .await;
        match whole {
            Ok(o) => {
                self.out.applied += o.applied as u64;
                self.out.duplicates += o.duplicates as u64;
            }
            Err(e) => {
                tracing::warn!(error = %e, "rebuild: batch failed; applying record by record");
                for r in &records {
                    let one = BTreeMap::from([(r.logged.partition, r.logged.offset + 1)]);
                    let single: &[Record] = std::slice::from_ref(r);
                    match retry::transient(|| {
                        batch::apply(pool, topic, single, &committed, &one, derive)
                    })
                    .await
                    {
                        Ok(o) => {
                            self.out.applied += o.applied as u64;
                            self.out.duplicates += o.duplicates as u64;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, partition = r.logged.partition, offset = r.logged.offset, "rebuild: skipping a record that cannot be applied");
                            self.out.skipped += 1;
                        }
                    }
                }
                retry::transient(|| {
                    batch::apply(pool, topic, &[], &committed, &next_offsets, derive)
                })
                .await?;
            }
        }
        self.next.extend(next_offsets);
        Ok(())
    }
}
