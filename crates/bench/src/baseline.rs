//! The raw baselines: what the broker and PostgreSQL do with no leadledger code in the way.
//!
//! - [`produce`]: an rdkafka `FutureProducer` with leadledger's own producer settings
//!   (`producer_config`: idempotent, `acks=all`, `linger.ms=2`), warmed up with one record,
//!   then every record in flight at once and every acknowledgement awaited.
//! - [`consume`]: a `StreamConsumer` with leadledger's consumer settings (`consumer_config`,
//!   fresh group, so it starts at offset 0) reading until it has N records.
//! - [`log_latency`]: the broker's own freshness: one record at a time on a fixed schedule,
//!   time from the producer's ack to the consumer (same settings) receiving it.
//! - [`copy`]: `COPY ... FROM STDIN (FORMAT csv)` of N rows shaped like `lead_events`
//!   (jsonb body, bytea raw value) into a table created `LIKE lead_events INCLUDING ALL`
//!   (same primary key and index).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use futures::stream::{FuturesUnordered, StreamExt};
use leadledger_api::convert::{self, Mode};
use leadledger_domain::Violations;
use leadledger_log::consumer::consumer_config;
use leadledger_log::producer::producer_config;
use leadledger_store::Store;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

use crate::measure::{Percentiles, Throughput};
use crate::setup::unique;
use crate::workload::Workload;

/// Key of the one untimed record a producer sends before the clock starts. A new
/// idempotent librdkafka producer spends 0.5–1 s acquiring its producer id (a 500 ms PID
/// timer against Tansu) before it sends anything: a once-per-process cost, not throughput.
pub const WARM_UP: &str = "warm-up";

/// How long a phase may wait for the broker before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(120);

/// Sends every prepared event (key = lead id, no headers) and waits for all the acks.
/// Sends one untimed record keyed [`WARM_UP`] (a copy of the first workload value).
async fn send_warm_up(producer: &FutureProducer, topic: &str, w: &Workload) -> anyhow::Result<()> {
    producer
        .send(
            FutureRecord::to(topic)
                .key(WARM_UP)
                .payload(w.values[0].as_slice()),
            PATIENCE,
        )
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}

pub async fn produce(brokers: &str, topic: &str, w: &Workload) -> anyhow::Result<Throughput> {
    let producer: FutureProducer = producer_config(brokers).create()?;
    // Warm-up, untimed: producer id and topic metadata (see `WARM_UP`).
    let warm = Instant::now();
    send_warm_up(&producer, topic, w).await?;
    let warmup = warm.elapsed();
    let started = Instant::now();
    let mut pending = Vec::with_capacity(w.count());
    for (e, value) in w.prepared.iter().zip(&w.values) {
        let mut record = FutureRecord::to(topic)
            .key(e.lead_id.as_bytes())
            .payload(value.as_slice());
        loop {
            match producer.send_result(record) {
                Ok(delivery) => {
                    pending.push(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }
    let mut pending: FuturesUnordered<_> = pending.into_iter().collect();
    let mut first = None;
    while let Some(d) = pending.next().await {
        d.map_err(|_| anyhow!("producer dropped a delivery"))?
            .map_err(|(e, _)| e)?;
        first.get_or_insert_with(|| started.elapsed());
    }
    let elapsed = started.elapsed();
    producer.flush(Duration::from_secs(10))?;
    Ok(Throughput {
        events: w.count(),
        elapsed,
        startup: first,
        warmup: Some(warmup),
    })
}

/// Reads `n` records of `topic` from offset 0 with a fresh consumer group.
pub async fn consume(brokers: &str, topic: &str, n: usize) -> anyhow::Result<Throughput> {
    let group = format!("bench-consumer-{}", unique());
    let consumer: StreamConsumer = consumer_config(brokers, &group).create()?;
    let started = Instant::now();
    consumer.subscribe(&[topic])?;
    let mut first = None;
    let mut count = 0usize;
    let mut bytes = 0usize;
    while count < n {
        let m = tokio::time::timeout(PATIENCE, consumer.recv())
            .await
            .with_context(|| {
                format!("raw consumer: only {count} of {n} records in {PATIENCE:?}")
            })??;
        first.get_or_insert_with(|| started.elapsed());
        bytes += m.payload_len();
        count += 1;
    }
    let elapsed = started.elapsed();
    anyhow::ensure!(bytes > 0, "raw consumer read empty records");
    Ok(Throughput {
        events: n,
        elapsed,
        startup: first,
        warmup: None,
    })
}

/// Sends one record at a time at `rate` per second for `seconds` (open loop) to an empty
/// `topic` that a consumer (leadledger's consumer settings) is already reading, and returns
/// the send → ack and ack → consumer-receipt latencies.
pub async fn log_latency(
    brokers: &str,
    topic: &str,
    w: &Workload,
    rate: f64,
    seconds: f64,
) -> anyhow::Result<LogLatency> {
    let group = format!("bench-latency-{}", unique());
    let consumer: StreamConsumer = consumer_config(brokers, &group).create()?;
    consumer.subscribe(&[topic])?;
    let producer: FutureProducer = producer_config(brokers).create()?;
    let count = ((rate * seconds).round() as usize).max(1);

    // Warm-up: the consumer joins its group and reads a first record.
    send_warm_up(&producer, topic, w).await?;
    loop {
        let m = tokio::time::timeout(PATIENCE, consumer.recv())
            .await
            .context("latency baseline: warm-up record not received")??;
        if m.key() == Some(WARM_UP.as_bytes()) {
            break;
        }
    }

    let receiver = tokio::spawn(async move {
        let mut received: Vec<Option<Instant>> = vec![None; count];
        let mut got = 0;
        while got < count {
            let m = tokio::time::timeout(PATIENCE, consumer.recv())
                .await
                .context("latency baseline: records missing")??;
            let at = Instant::now();
            let i = m
                .key()
                .and_then(|k| std::str::from_utf8(k).ok())
                .and_then(|k| k.parse::<usize>().ok());
            if let Some(slot) = i.and_then(|i| received.get_mut(i)) {
                if slot.replace(at).is_none() {
                    got += 1;
                }
            }
        }
        anyhow::Ok(received)
    });

    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..count {
        ticker.tick().await;
        let (producer, topic) = (producer.clone(), topic.to_string());
        let value = w.values[i % w.count()].clone();
        sends.spawn(async move {
            let key = i.to_string();
            let sent = Instant::now();
            producer
                .send(FutureRecord::to(&topic).key(&key).payload(&value), PATIENCE)
                .await
                .map(|_| (i, sent, Instant::now()))
                .map_err(|(e, _)| e)
        });
    }
    let mut acked: Vec<Option<Instant>> = vec![None; count];
    let mut ack = Vec::with_capacity(count);
    while let Some(r) = sends.join_next().await {
        let (i, sent, at) = r??;
        acked[i] = Some(at);
        ack.push(at - sent);
    }
    let received = receiver.await??;
    let receipt = acked
        .iter()
        .zip(&received)
        .filter_map(|(a, r)| Some(r.as_ref()?.saturating_duration_since(*a.as_ref()?)))
        .collect();
    Ok(LogLatency {
        ack: Percentiles::of(ack),
        receipt: Percentiles::of(receipt),
    })
}

/// What [`log_latency`] measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogLatency {
    /// Send → the broker's ack (`acks=all`).
    pub ack: Percentiles,
    /// The ack → the consumer receiving the record.
    pub receipt: Percentiles,
}

/// COPYs the workload, as `lead_events` rows, into a scratch table of `store`.
pub async fn copy(store: &Store, w: &Workload, partitions: i32) -> anyhow::Result<Throughput> {
    sqlx::query("CREATE TABLE bench_copy (LIKE lead_events INCLUDING ALL)")
        .execute(&store.pool)
        .await?;
    let csv = csv_rows(w, partitions)?;
    let mut conn = store.pool.acquire().await?;
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw("COPY bench_copy FROM STDIN (FORMAT csv)")
        .await?;
    for chunk in csv.as_bytes().chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    let rows = copy.finish().await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        rows == w.count() as u64,
        "COPY wrote {rows} rows, expected {}",
        w.count()
    );
    Ok(Throughput {
        events: w.count(),
        elapsed,
        startup: None,
        warmup: None,
    })
}

/// The workload as CSV rows in `lead_events` column order. Retried duplicates get a fresh
/// id, since COPY has no `ON CONFLICT`.
fn csv_rows(w: &Workload, partitions: i32) -> anyhow::Result<String> {
    let mut out = String::with_capacity(w.value_bytes() * 4);
    let mut seen = HashSet::new();
    for (i, (e, raw)) in w.prepared.iter().zip(&w.values).enumerate() {
        let mut v = Violations::default();
        let domain = convert::event_from_proto(e, Mode::Log, "", &mut v)
            .ok_or_else(|| anyhow!("event {i} does not convert: {v:?}"))?;
        let id = if seen.insert(domain.event_id) {
            domain.event_id
        } else {
            uuid::Uuid::new_v4()
        };
        let body = serde_json::to_string(&domain)?;
        let time = |t: Option<&prost_types::Timestamp>| {
            t.and_then(convert::time_from_proto)
                .map(|t| t.to_rfc3339())
                .ok_or_else(|| anyhow!("event {i} lacks a time"))
        };
        let source = e.source.clone().unwrap_or_default();
        let partition = i as i64 % i64::from(partitions.max(1));
        writeln!(
            out,
            "{id},{},{},{},{},{},{},{},{},{partition},{i},t,{},\\x{}",
            quote(&e.tenant_id),
            quote(&e.lead_id),
            quote(&e.event_type),
            e.schema_version,
            time(e.occurred_at.as_ref())?,
            time(e.recorded_at.as_ref())?,
            quote(&source.system),
            quote(&source.event_id),
            quote(&body),
            hex(raw),
        )?;
    }
    Ok(out)
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting_and_hex() {
        assert_eq!(quote(r#"a"b,c"#), r#""a""b,c""#);
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
