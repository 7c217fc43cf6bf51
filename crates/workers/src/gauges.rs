//! The metrics that are states rather than events, sampled every few seconds: projector lag
//! per partition (the log's end − the stored checkpoint), the producer's queue, the database
//! pool, the credits queue, SLA clocks at risk and breached. The projector's own counters and
//! histograms (batches, applies, dead letters, rewinds) are recorded where they happen
//! ([`crate::projector`]); the names of all of them are here, declared once.

use std::time::Duration;

use leadledger_log::{EventProducer, LogConfig};
use leadledger_store::checkpoints::{self, CORE};
use leadledger_store::Store;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::Shutdown;

/// Records in the log not yet applied by the core projection, per partition.
pub const PROJECTOR_LAG: &str = "leadledger_projector_lag_records";
/// Records per applied batch.
pub const BATCH_RECORDS: &str = "leadledger_projector_batch_records";
/// Time to apply a batch (its PostgreSQL transaction, retries included).
pub const APPLY_SECONDS: &str = "leadledger_projector_apply_seconds";
/// Events applied to the read models.
pub const EVENTS_APPLIED: &str = "leadledger_projector_events_applied_total";
/// Records read again that were already applied (redeliveries, re-reads).
pub const DUPLICATES: &str = "leadledger_projector_duplicates_total";
/// Records sent to the dead-letter topic.
pub const DEAD_LETTERS: &str = "leadledger_dead_letters_total";
/// Partitions read again because the database had lost committed batches.
pub const REWINDS: &str = "leadledger_projector_rewinds_total";
/// Records handed to the producer and not yet acknowledged.
pub const PRODUCER_QUEUE: &str = "leadledger_producer_queue_records";
/// Database connections of this process, by state (`in_use`, `idle`).
pub const DB_POOL: &str = "leadledger_db_pool_connections";
/// Leads whose attribution credits wait to be recomputed.
pub const CREDITS_QUEUE: &str = "leadledger_credits_queue_leads";
/// Webhook attempts by outcome (`delivered`, `failed`, `dead_lettered`).
pub const WEBHOOK_DELIVERIES: &str = "leadledger_webhook_deliveries_total";
/// Leads whose clocks the SLA re-evaluation pass has evaluated (`done`) and has to (`total`).
pub const SLA_REEVALUATION: &str = "leadledger_sla_reevaluation_leads";
/// Sealed contacts the projector could not open, by why (`no_key`: destroyed by an erasure or
/// lost; `does_not_open`: tampered with).
pub const CONTACTS_UNOPENED: &str = "leadledger_contacts_unopened_total";
/// Merge intents of the auto-merge worker, by outcome (`appended`; `refused`: decided
/// against, the group having changed in the log before it).
pub const AUTO_MERGES: &str = "leadledger_auto_merges_total";
/// Groups of duplicate leads the auto-merge worker's last tick left to a person (two leads
/// of the group have merged leads already).
pub const AUTO_MERGE_WAITING: &str = "leadledger_auto_merge_waiting_groups";
/// Running SLA clocks by state (`at_risk`, `breached`), at the database's clock.
pub const SLA_CLOCKS: &str = "leadledger_sla_clocks";

/// Declares this crate's metrics (their help text) to the installed recorder.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!(
        PROJECTOR_LAG,
        "records in the events topic not yet applied by the core projection (log end - stored checkpoint), per partition"
    );
    describe_histogram!(BATCH_RECORDS, "records per applied projector batch");
    describe_histogram!(
        APPLY_SECONDS,
        Unit::Seconds,
        "time to apply one projector batch in PostgreSQL, retries included"
    );
    describe_counter!(EVENTS_APPLIED, "events applied to the read models");
    describe_counter!(
        DUPLICATES,
        "records read again that were already applied (skipped)"
    );
    describe_counter!(DEAD_LETTERS, "records sent to the dead-letter topic");
    describe_counter!(
        CONTACTS_UNOPENED,
        "sealed contacts projected without contact: no_key (erased, or the key was lost), does_not_open (tampered)"
    );
    describe_gauge!(
        SLA_REEVALUATION,
        "leads whose SLA clocks the re-evaluation after a policy change has evaluated (done) and has to (total)"
    );
    describe_counter!(
        WEBHOOK_DELIVERIES,
        "webhook attempts by outcome: delivered (2xx), failed (to be retried), dead_lettered (given up)"
    );
    describe_counter!(
        AUTO_MERGES,
        "merge intents of the auto-merge worker: appended, refused (the group changed in the log before it)"
    );
    describe_gauge!(
        AUTO_MERGE_WAITING,
        "groups of duplicate leads the auto-merge worker's last tick left to a person (two of their leads have merged leads already)"
    );
    describe_counter!(
        REWINDS,
        "partitions read again because the database had lost committed batches"
    );
    describe_gauge!(
        PRODUCER_QUEUE,
        "records handed to the Kafka producer and not yet acknowledged"
    );
    describe_gauge!(
        DB_POOL,
        "PostgreSQL connections of this process by state and pool (workers; reads: the query \
         role's, whose callers are shed after limits.db_wait_ms)"
    );
    describe_gauge!(
        CREDITS_QUEUE,
        "leads whose attribution credits wait to be recomputed"
    );
    describe_gauge!(
        SLA_CLOCKS,
        "running SLA clocks at risk or breached now, across tenants"
    );
}

/// What a process samples (by its role).
#[derive(Clone, Default)]
pub struct Sampled {
    /// The read-model database (pool use; SLA and credits gauges below).
    pub store: Option<Store>,
    /// The query role's read pool (pool use only).
    pub reads: Option<Store>,
    /// The producer whose queue is measured.
    pub producer: Option<EventProducer>,
    /// The log whose projector lag is measured (roles that run the projector).
    pub lag_of: Option<LogConfig>,
    /// Sample SLA clocks (roles that run the SLA worker).
    pub sla: bool,
    /// Sample the credits queue (roles that run the credits worker).
    pub credits: bool,
}

/// Samples every `every` until `shutdown`. A source that cannot answer (the database or the
/// broker down) leaves its gauges at their last value and is logged at debug level.
pub async fn run(s: Sampled, every: Duration, shutdown: Shutdown) {
    let lag_client = s.lag_of.as_ref().and_then(|log| {
        let mut c = rdkafka::ClientConfig::new();
        c.set("bootstrap.servers", &log.brokers);
        leadledger_log::config::apply_properties(&mut c, &log.properties);
        c.create::<BaseConsumer>()
            .map_err(|e| tracing::warn!(error = %e, "projector lag will not be measured"))
            .ok()
            .map(std::sync::Arc::new)
    });
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Some(p) = &s.producer {
            metrics::gauge!(PRODUCER_QUEUE).set(f64::from(p.queue_depth()));
        }
        for (pool, of) in [("workers", &s.store), ("reads", &s.reads)] {
            let Some(of) = of else { continue };
            let size = of.pool.size();
            let idle = u32::try_from(of.pool.num_idle()).unwrap_or(size);
            metrics::gauge!(DB_POOL, "state" => "in_use", "pool" => pool)
                .set(f64::from(size.saturating_sub(idle)));
            metrics::gauge!(DB_POOL, "state" => "idle", "pool" => pool).set(f64::from(idle));
        }
        let Some(store) = &s.store else { continue };
        if let (Some(log), Some(client)) = (&s.lag_of, &lag_client) {
            if let Err(e) = sample_lag(store, log, client.clone()).await {
                tracing::debug!(error = %e, "projector lag not sampled");
            }
        }
        if s.sla {
            match leadledger_store::gauges::sla_clocks(&store.pool).await {
                Ok((at_risk, breached)) => {
                    metrics::gauge!(SLA_CLOCKS, "state" => "at_risk").set(at_risk as f64);
                    metrics::gauge!(SLA_CLOCKS, "state" => "breached").set(breached as f64);
                }
                Err(e) => tracing::debug!(error = %e, "SLA clocks not sampled"),
            }
        }
        if s.credits {
            match leadledger_store::gauges::credits_queue(&store.pool).await {
                Ok(n) => metrics::gauge!(CREDITS_QUEUE).set(n as f64),
                Err(e) => tracing::debug!(error = %e, "credits queue not sampled"),
            }
        }
    }
}

/// Lag per partition: the log's end (asked on the blocking pool) − the stored checkpoint.
async fn sample_lag(
    store: &Store,
    log: &LogConfig,
    client: std::sync::Arc<BaseConsumer>,
) -> Result<(), String> {
    let stored = checkpoints::load(&store.pool, CORE, &log.topic)
        .await
        .map_err(|e| e.to_string())?;
    let topic = log.topic.clone();
    let ends = tokio::task::spawn_blocking(move || {
        leadledger_log::admin::end_offsets(client.client(), &topic, Duration::from_secs(2))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    for (p, end) in ends {
        let lag = (end - stored.get(&p).copied().unwrap_or(0)).max(0);
        metrics::gauge!(PROJECTOR_LAG, "partition" => p.to_string()).set(lag as f64);
    }
    Ok(())
}
