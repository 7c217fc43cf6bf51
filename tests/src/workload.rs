//! Workloads with exact expected totals, shared by the fault scenarios (`tests/faults.rs`)
//! and the kill -9 scenarios (`crates/cli/tests/kill.rs`); a simulated quarter for the
//! analytics tests ([`quarter`], and [`quarter_told_in_two`] for questions at a cut).

use std::net::SocketAddr;
use std::time::Duration;

use leadledger_api::pb::{self, ingest_service_client::IngestServiceClient};
use leadledger_store::Store;

use crate::events::{accepted, at, captured, mql, signed};
use crate::{append, scalar_retrying, TestEnv};

/// The tenant of every workload event.
pub const TENANT: &str = "acme";

/// SplitMix64: a tiny deterministic generator, so every run makes the same choices.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % u64::try_from(n).unwrap()).unwrap()
    }

    /// Uniform in `lo..hi`.
    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo)
    }

    pub fn shuffle<X>(&mut self, v: &mut [X]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// The funnel workload. Per lead i: capture, MQL; SQL when i is even; signed (1000 + i) when
/// i % 4 == 0. Every event has a deterministic source id, so a resend is a duplicate.
pub fn funnel_workload(leads: usize) -> Vec<pb::Event> {
    let mut out = Vec::new();
    for i in 0..leads {
        let l = format!("L-{i:05}");
        let day = u32::try_from(i % 28).unwrap() + 1;
        out.push(captured(
            &l,
            &format!("c{i}"),
            at(4, day, 9),
            ["website", "sem", "webinar"][i % 3],
        ));
        out.push(mql(&l, &format!("m{i}"), at(5, day, 9)));
        if i % 2 == 0 {
            out.push(accepted(&l, &format!("a{i}"), at(5, day, 15), "rep-01"));
        }
        if i % 4 == 0 {
            out.push(signed(
                &l,
                &format!("s{i}"),
                at(6, day, 9),
                1000 + i64::try_from(i).unwrap(),
            ));
        }
    }
    out
}

/// What the read models must hold after [`funnel_workload`]`(leads)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub leads: i64,
    pub events: i64,
    pub sql: i64,
    pub signed: i64,
    pub amount: i64,
}

impl Expected {
    pub fn of(leads: usize) -> Self {
        let n = i64::try_from(leads).unwrap();
        Self {
            leads: n,
            events: 2 * n + (n + 1) / 2 + (n + 3) / 4,
            sql: (n + 1) / 2,
            signed: (n + 3) / 4,
            amount: (0..n).filter(|i| i % 4 == 0).map(|i| 1000 + i).sum(),
        }
    }
}

/// Asserts the read models of `store` hold exactly `e`. Every event of the funnel workload
/// opens one stage visit and one transition, so those tables must count `e.events` rows too.
pub async fn assert_exact(store: &Store, e: Expected) -> anyhow::Result<()> {
    let q = |sql: &'static str| scalar_retrying(store, sql, Duration::from_secs(10));
    let got = Expected {
        leads: q("SELECT count(*) FROM leads").await?,
        events: q("SELECT count(*) FROM lead_events").await?,
        sql: q("SELECT count(*) FROM leads WHERE max_rank >= 3").await?,
        signed: q("SELECT count(*) FROM leads WHERE stage = 'signed'").await?,
        amount: q("SELECT coalesce(sum(signed_amount_minor), 0)::int8 FROM leads").await?,
    };
    assert_eq!(got, e, "read models");
    assert_eq!(
        q("SELECT coalesce(sum(event_count), 0)::int8 FROM leads").await?,
        e.events,
        "sum of leads.event_count"
    );
    assert_eq!(
        q("SELECT count(*) FROM stage_visits").await?,
        e.events,
        "stage visits"
    );
    assert_eq!(
        q("SELECT count(*) FROM stage_transitions").await?,
        e.events,
        "stage transitions"
    );
    Ok(())
}

/// Appends `events` in order, `batch` at a time, on one connection.
pub async fn send_all(
    addr: SocketAddr,
    events: Vec<pb::Event>,
    batch: usize,
) -> anyhow::Result<()> {
    let mut ingest = IngestServiceClient::connect(format!("http://{addr}")).await?;
    for chunk in events.chunks(batch) {
        append(&mut ingest, TENANT, chunk.to_vec()).await?;
    }
    Ok(())
}

/// Milliseconds, for the measurements the tests print.
pub fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// Every record of `topic` from offset 0 to its end offsets as they are now: the event id at
/// each `(partition, offset)` (empty for a record that does not decode).
pub async fn log_event_ids(
    brokers: &str,
    topic: &str,
    within: Duration,
) -> anyhow::Result<std::collections::BTreeMap<(i32, i64), String>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};

    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("read-{}", crate::unique()))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()?;
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions = md
        .topics()
        .first()
        .map(|t| t.partitions().len())
        .unwrap_or(0);
    let mut ends = std::collections::BTreeMap::new();
    let mut tpl = TopicPartitionList::new();
    for p in 0..i32::try_from(partitions)? {
        let (_, high) = c.fetch_watermarks(topic, p, Duration::from_secs(10))?;
        ends.insert(p, high);
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    let total: i64 = ends.values().sum();
    c.assign(&tpl)?;
    let mut out = std::collections::BTreeMap::new();
    let deadline = std::time::Instant::now() + within;
    // Read on a blocking thread: BaseConsumer::poll blocks.
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        while i64::try_from(out.len())? < total {
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "read only {} of {total} records of {topic} within {within:?}",
                out.len()
            );
            let Some(m) = c.poll(Duration::from_millis(200)) else {
                continue;
            };
            let m = m?;
            if m.offset() >= ends[&m.partition()] {
                continue;
            }
            let id = leadledger_log::envelope::decode(m.payload())
                .map(|e| e.event_id)
                .unwrap_or_default();
            out.insert((m.partition(), m.offset()), id);
        }
        Ok(out)
    })
    .await?
}

/// The sum of the core projection's checkpoints (records dealt with, over every partition).
pub const CHECKPOINT_SUM: &str = "SELECT coalesce(sum(next_offset), 0)::int8 \
     FROM projector_checkpoints WHERE projection = 'core'";

/// Waits until the checkpoints in `store` have reached the end offsets of `topic`
/// (database errors retried until the deadline).
pub async fn wait_applied_to_end(
    store: &Store,
    brokers: &str,
    topic: &str,
    within: Duration,
) -> anyhow::Result<()> {
    let ends: i64 = log_event_ids(brokers, topic, within)
        .await?
        .len()
        .try_into()?;
    let deadline = std::time::Instant::now() + within;
    loop {
        let at = scalar_retrying(store, CHECKPOINT_SUM, within).await?;
        if at == ends {
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "checkpoints at {at} of {ends} records after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Applies the whole topic once, with one projector that is never interrupted, into `clean`
/// (a fresh database), and asserts that every row equals `faulted` (the dump of the read
/// models a fault scenario produced) and that exactly `events` events were applied.
pub async fn assert_same_as_clean_run(
    log: &leadledger_log::LogConfig,
    clean: Store,
    faulted: &[String],
    events: i64,
    within: Duration,
) -> anyhow::Result<()> {
    use leadledger_workers::projector::{self, ProjectorConfig};
    let mut cfg = ProjectorConfig::new(log.clone());
    cfg.group = format!("clean-{}", crate::unique());
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(projector::run(
        projector::Deps {
            cfg,
            store: clean.clone(),
        },
        stop.clone(),
    ));
    wait_applied_to_end(&clean, &log.brokers, &log.topic, within).await?;
    stop.cancel();
    let totals = task.await??;
    anyhow::ensure!(
        i64::try_from(totals.applied)? == events,
        "the clean run applied {totals:?}, expected {events} events"
    );
    anyhow::ensure!(
        (totals.duplicates, totals.dead_letters) == (0, 0),
        "the clean run saw duplicates or dead letters: {totals:?}"
    );
    let clean_run = crate::dump_read_models(&clean).await?;
    clean.pool.close().await;
    anyhow::ensure!(
        faulted.len() == clean_run.len(),
        "{} rows after the faults, {} in the clean run",
        faulted.len(),
        clean_run.len()
    );
    if let Some((a, b)) = faulted.iter().zip(&clean_run).find(|(a, b)| a != b) {
        anyhow::bail!("first differing row:\n faulted: {a}\n clean:   {b}");
    }
    Ok(())
}

/// Sends `extra`, then a simulated quarter of `leads` leads of tenant [`TENANT`] (seed
/// `seed`), in chunks of 500, each waited for through a query with its consistency token;
/// returns the last token.
pub async fn quarter(
    env: &TestEnv,
    seed: u64,
    leads: usize,
    extra: Vec<pb::Event>,
) -> anyhow::Result<String> {
    let sim = leadledger_sim::generate(&leadledger_sim::SimConfig {
        seed,
        leads,
        tenant: TENANT.into(),
        ..Default::default()
    });
    let mut ingest = env.ingest().await?;
    let mut q = env.query().await?;
    let mut token = String::new();
    for chunk in std::iter::once(extra.as_slice()).chain(sim.deliveries.chunks(500)) {
        if chunk.is_empty() {
            continue;
        }
        token = append(&mut ingest, TENANT, chunk.to_vec())
            .await?
            .consistency_token;
        let r = q
            .get_lead(pb::GetLeadRequest {
                tenant_id: TENANT.into(),
                lead_id: "none".into(),
                consistency_token: token.clone(),
            })
            .await;
        assert_eq!(r.unwrap_err().code(), tonic::Code::NotFound);
    }
    Ok(token)
}

/// A simulated quarter told in two parts, for the questions "as of" and "as known on".
pub struct ToldInTwo {
    /// Every delivery's business time, ascending.
    pub occurred: Vec<chrono::DateTime<chrono::Utc>>,
    /// A record time between the two parts: facts delivered after it (some about leads
    /// captured long before) were not known then.
    pub known_at: chrono::DateTime<chrono::Utc>,
}

/// Sends a simulated quarter of `leads` leads of tenant [`TENANT`] (seed `seed`) in chunks
/// of 500, taking `known_at` between two chunks 60 % of the way, and waits until the
/// projector has applied everything.
pub async fn quarter_told_in_two(
    env: &TestEnv,
    seed: u64,
    leads: usize,
) -> anyhow::Result<ToldInTwo> {
    let sim = leadledger_sim::generate(&leadledger_sim::SimConfig {
        seed,
        leads,
        tenant: TENANT.into(),
        ..Default::default()
    });
    let deliveries = with_referrals(sim.deliveries);
    let mut occurred: Vec<_> = deliveries
        .iter()
        .filter_map(|e| {
            e.occurred_at
                .as_ref()
                .and_then(leadledger_api::convert::time_from_proto)
        })
        .collect();
    occurred.sort();
    let mut ingest = env.ingest().await?;
    let chunks: Vec<_> = deliveries.chunks(500).collect();
    let mut known_at = None;
    for (i, chunk) in chunks.iter().enumerate() {
        if i == chunks.len() * 3 / 5 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            known_at = Some(chrono::Utc::now());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        append(&mut ingest, TENANT, chunk.to_vec()).await?;
    }
    env.wait_caught_up(Duration::from_secs(180)).await?;
    Ok(ToldInTwo {
        occurred,
        known_at: known_at.expect("more than one chunk"),
    })
}

/// `deliveries` with a `ReferredBy` after every fifth lead's first capture, naming the lead
/// captured two captures before (often in another partition), half an hour after the capture:
/// the simulator sends no referrals yet, and attribution at a cut must resolve them.
fn with_referrals(deliveries: Vec<pb::Event>) -> Vec<pb::Event> {
    use pb::event::Payload;
    let mut out = Vec::with_capacity(deliveries.len() + deliveries.len() / 20);
    let mut captured: Vec<String> = Vec::new();
    for e in deliveries {
        let first_capture =
            matches!(e.payload, Some(Payload::LeadCaptured(_))) && !captured.contains(&e.lead_id);
        let referral = first_capture.then(|| {
            captured.push(e.lead_id.clone());
            let n = captured.len();
            (n.is_multiple_of(5) && n > 2).then(|| {
                let at = e
                    .occurred_at
                    .as_ref()
                    .and_then(leadledger_api::convert::time_from_proto)
                    .expect("a capture has its time")
                    + chrono::TimeDelta::minutes(30);
                pb::Event {
                    lead_id: e.lead_id.clone(),
                    occurred_at: Some(leadledger_api::convert::time_to_proto(at)),
                    source: Some(pb::SourceRef {
                        system: "salesforce".into(),
                        event_id: format!("referral-{}", e.lead_id),
                    }),
                    payload: Some(Payload::ReferredBy(pb::ReferredBy {
                        referrer_lead_id: captured[n - 3].clone(),
                        rep_id: String::new(),
                    })),
                    ..Default::default()
                }
            })
        });
        out.push(e);
        out.extend(referral.flatten());
    }
    out
}

/// Every lead of tenant [`TENANT`] as `GetLead` answers it, paged through `ListLeads`.
pub async fn every_lead(
    q: &mut leadledger_api::pb::query_service_client::QueryServiceClient<tonic::transport::Channel>,
) -> anyhow::Result<Vec<pb::GetLeadResponse>> {
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = q
            .list_leads(pb::ListLeadsRequest {
                tenant_id: TENANT.into(),
                page_size: 1000,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        for l in &page.leads {
            let got = q
                .get_lead(pb::GetLeadRequest {
                    tenant_id: TENANT.into(),
                    lead_id: l.lead_id.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            out.push(got);
        }
        if page.next_page_token.is_empty() {
            return Ok(out);
        }
        page_token = page.next_page_token;
    }
}
