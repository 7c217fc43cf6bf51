//! Samples: the memory of each role process from /proc/PID/status, the projector lag and
//! the load's counters, at one moment.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::load::{Counters, Snapshot};

/// Where in the run a sample was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// While the load runs.
    Load,
    /// After it stopped, waiting for the lag to return to zero.
    Drain,
}

/// One sample.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Seconds since the load started.
    pub t: f64,
    pub phase: Phase,
    /// VmRSS of each role (kB), in [`crate::ROLES`] order.
    pub rss_kb: Vec<u64>,
    /// VmHWM (peak RSS so far) of each role (kB).
    pub hwm_kb: Vec<u64>,
    /// CPU seconds (user + system) each role used so far.
    pub cpu_secs: Vec<f64>,
    /// The machine's 1-minute load average (others' work included).
    pub loadavg: f64,
    /// Records in the topic not yet applied by the core projection.
    pub lag: i64,
    /// Records in the topic (sum of end offsets).
    pub end: i64,
    pub counts: Snapshot,
}

impl Sample {
    /// One line for the console.
    pub fn line(&self, c: &Counters) -> String {
        let mb = |kb: &u64| format!("{:.0}", *kb as f64 / 1000.0);
        let rss: Vec<String> = crate::ROLES
            .iter()
            .zip(&self.rss_kb)
            .map(|(r, kb)| format!("{r} {}", mb(kb)))
            .collect();
        format!(
            "t={:>6.1}s {:?} sent {} acked {} lag {} | RSS MB: {} | errors {:?}",
            self.t,
            self.phase,
            self.counts.sent,
            self.counts.acked,
            self.lag,
            rss.join(", "),
            crate::load::lock(&c.errors)
        )
    }
}

/// Reads the processes, the topic's end offsets and the checkpoints.
pub struct Sampler {
    pids: Vec<u32>,
    topic: String,
    consumer: Arc<BaseConsumer>,
    pool: PgPool,
}

impl Sampler {
    pub async fn connect(
        brokers: &str,
        topic: &str,
        database_url: &str,
        pids: Vec<u32>,
    ) -> anyhow::Result<Self> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", format!("{topic}.soak-watermarks"))
            .create()?;
        let consumer = Arc::new(consumer);
        let c = consumer.clone();
        let t = topic.to_string();
        let ends = tokio::task::spawn_blocking(move || {
            leadledger_log::admin::end_offsets(c.client(), &t, Duration::from_secs(10))
        })
        .await??;
        anyhow::ensure!(!ends.is_empty(), "topic {topic} has no partitions");
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(database_url)
            .await
            .context("connecting to the roles' database")?;
        for pid in &pids {
            memory(*pid)?;
        }
        Ok(Self {
            pids,
            topic: topic.to_string(),
            consumer,
            pool,
        })
    }

    pub async fn postgres_version(&self) -> anyhow::Result<String> {
        Ok(sqlx::query_scalar("SELECT version()")
            .fetch_one(&self.pool)
            .await?)
    }

    /// End offset of every partition.
    async fn ends(&self) -> anyhow::Result<BTreeMap<i32, i64>> {
        let (c, topic) = (self.consumer.clone(), self.topic.clone());
        tokio::task::spawn_blocking(move || {
            Ok(leadledger_log::admin::end_offsets(
                c.client(),
                &topic,
                Duration::from_secs(10),
            )?)
        })
        .await?
    }

    /// (lag, records in the topic): end offsets − the core projection's checkpoints.
    async fn lag_and_end(&self) -> anyhow::Result<(i64, i64)> {
        let ends = self.ends().await?;
        let applied: BTreeMap<i32, i64> = sqlx::query_as::<_, (i32, i64)>(
            "SELECT partition, next_offset FROM projector_checkpoints \
             WHERE projection = 'core' AND topic = $1",
        )
        .bind(&self.topic)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect();
        let lag = ends
            .iter()
            .map(|(p, end)| (end - applied.get(p).copied().unwrap_or(0)).max(0))
            .sum();
        Ok((lag, ends.values().sum()))
    }

    /// Records not yet applied.
    pub async fn lag(&self) -> anyhow::Result<i64> {
        Ok(self.lag_and_end().await?.0)
    }

    /// A sample now.
    pub async fn take(&self, t: f64, phase: Phase, c: &Counters) -> anyhow::Result<Sample> {
        let counts = c.snapshot();
        let (lag, end) = self.lag_and_end().await?;
        let mut rss_kb = Vec::new();
        let mut hwm_kb = Vec::new();
        let mut cpu_secs = Vec::new();
        for (pid, role) in self.pids.iter().zip(crate::ROLES) {
            let (rss, hwm) = memory(*pid).with_context(|| format!("role {role} (pid {pid})"))?;
            rss_kb.push(rss);
            hwm_kb.push(hwm);
            cpu_secs.push(cpu(*pid).unwrap_or(0.0));
        }
        let loadavg = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        Ok(Sample {
            t,
            phase,
            rss_kb,
            hwm_kb,
            cpu_secs,
            loadavg,
            lag,
            end,
            counts,
        })
    }
}

/// (VmRSS, VmHWM) of `pid` in kB; an error if the process is gone.
pub fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is gone"))?;
    parse_status(&status).with_context(|| format!("no VmRSS/VmHWM in /proc/{pid}/status"))
}

/// CPU seconds (utime + stime) of `pid`, from /proc/PID/stat (clock ticks of 1/100 s, the
/// Linux USER_HZ).
fn cpu(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn parse_status(status: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_status() {
        let s = "Name:\tleadledger\nVmPeak:\t  900 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(super::parse_status(s), Some((40960, 51234)));
        assert_eq!(super::parse_status("Name: x\n"), None);
        let me = super::memory(std::process::id()).unwrap();
        assert!(me.0 > 0 && me.1 >= me.0);
        assert!(super::cpu(std::process::id()).is_some());
    }
}
