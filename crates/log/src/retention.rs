//! The log is never deleted: the settings the events topic is created with, and the check of
//! an existing topic's settings (pure; `admin` asks the broker).
//!
//! The events topic is the source of truth: a projection rebuilt from offset 0 must see every
//! event ever appended. A topic created with the broker's defaults loses that on Apache Kafka
//! and Redpanda (`retention.ms` defaults to 7 days), and a compacted topic keeps only the last
//! record of each lead. So topics are created with unlimited retention by time and size and
//! a topic that already exists with other settings makes the process refuse to start.
//!
//! `cleanup.policy` is left to the broker's default (`delete` on Apache Kafka and Redpanda,
//! which deletes nothing with unlimited retention) and only checked: the Tansu dev broker reads
//! `retention.ms = -1` literally when `cleanup.policy = delete` is set on a topic, and its
//! maintenance (at start and every 10 minutes) then deleted every record of the topic (found by
//! `crates/cli/tests/kill.rs`, whose broker restarts: 1 875 of 4 325 records left).

use std::collections::BTreeMap;
use std::fmt;

/// The topic settings leadledger creates its topics with (`min.insync.replicas` comes from
/// configuration, see [`creation_configs`]; `cleanup.policy` is the broker's default, see the
/// module docs).
pub const UNLIMITED: &[(&str, &str)] = &[("retention.ms", "-1"), ("retention.bytes", "-1")];

/// Every setting a topic is created with: [`UNLIMITED`] and `min.insync.replicas`.
pub fn creation_configs(min_insync_replicas: i32) -> Vec<(&'static str, String)> {
    let mut c: Vec<(&'static str, String)> = UNLIMITED
        .iter()
        .map(|(k, v)| (*k, (*v).to_string()))
        .collect();
    c.push(("min.insync.replicas", min_insync_replicas.to_string()));
    c
}

/// What is wrong with an existing topic for it to be the source of truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicProblem {
    /// `retention.ms` (or `retention.bytes`) is finite: the broker deletes old events.
    FiniteRetention {
        setting: &'static str,
        value: String,
    },
    /// `cleanup.policy` includes `compact`: the broker keeps only the last record per key.
    Compacted { value: String },
    /// Fewer partitions than `kafka.partitions`: the consumers and the routing of leads to
    /// partitions were sized for more.
    FewerPartitions { have: usize, want: i32 },
    /// The broker did not report a setting that decides whether events are kept, so
    /// leadledger cannot tell. Apache Kafka and Redpanda report every setting, defaults
    /// included; the Tansu dev broker reports only those a topic was created with (and
    /// deletes nothing by age), so this one is a warning, never a refusal.
    Unreported { setting: &'static str },
}

impl TopicProblem {
    /// Whether the broker's own description shows that events are (or will be) lost: the
    /// process refuses to start on these (`kafka.topic_check = enforce`).
    pub fn is_loss(&self) -> bool {
        !matches!(self, Self::Unreported { .. })
    }

    /// The setting the problem is about.
    pub fn setting(&self) -> &'static str {
        match self {
            Self::FiniteRetention { setting, .. } | Self::Unreported { setting } => setting,
            Self::Compacted { .. } => "cleanup.policy",
            Self::FewerPartitions { .. } => "partitions",
        }
    }
}

impl fmt::Display for TopicProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FiniteRetention { setting, value } => write!(
                f,
                "{setting} = {value}: the broker deletes older events (fix: set {setting}=-1 \
                 on the topic, e.g. kafka-configs.sh --alter --entity-type topics \
                 --entity-name <topic> --add-config {setting}=-1)"
            ),
            Self::Compacted { value } => write!(
                f,
                "cleanup.policy = {value}: a compacted topic keeps only the last event of each \
                 lead (fix: cleanup.policy=delete with retention.ms=-1; a compacted topic \
                 has already lost events, so rebuild from a complete copy of the log)"
            ),
            Self::FewerPartitions { have, want } => write!(
                f,
                "{have} partitions, kafka.partitions = {want} (fix: add partitions to the \
                 topic before any lead is appended, or set kafka.partitions = {have})"
            ),
            Self::Unreported { setting } => write!(
                f,
                "the broker does not report {setting}, so leadledger cannot tell whether it \
                 keeps every event (fix: set {setting} on the topic explicitly)"
            ),
        }
    }
}

/// The problems of a topic with these `configs` (as the broker describes them, defaults
/// included) and `partitions`, for a log that must never be deleted and have at least
/// `want_partitions` partitions. Empty: the topic is fit.
pub fn check(
    configs: &BTreeMap<String, String>,
    partitions: usize,
    want_partitions: i32,
) -> Vec<TopicProblem> {
    let mut problems = Vec::new();
    for setting in ["retention.ms", "retention.bytes"] {
        match configs.get(setting).map(|v| v.trim()) {
            None => problems.push(TopicProblem::Unreported { setting }),
            // Any negative value means "no limit" to Kafka.
            Some(v) if v.parse::<i64>().is_ok_and(|n| n < 0) => {}
            Some(v) => problems.push(TopicProblem::FiniteRetention {
                setting,
                value: v.to_string(),
            }),
        }
    }
    match configs.get("cleanup.policy") {
        None => problems.push(TopicProblem::Unreported {
            setting: "cleanup.policy",
        }),
        Some(v)
            if v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("compact")) =>
        {
            problems.push(TopicProblem::Compacted { value: v.clone() })
        }
        Some(_) => {}
    }
    if usize::try_from(want_partitions).is_ok_and(|want| partitions < want) {
        problems.push(TopicProblem::FewerPartitions {
            have: partitions,
            want: want_partitions,
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn fit() -> BTreeMap<String, String> {
        let mut c = configs(UNLIMITED);
        c.insert("cleanup.policy".into(), "delete".into());
        c
    }

    #[test]
    fn what_leadledger_creates_passes_its_own_check() {
        let mut created: BTreeMap<String, String> = creation_configs(2)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert!(
            !created.contains_key("cleanup.policy"),
            "left to the broker"
        );
        // As Apache Kafka describes it: the broker's default policy.
        created.insert("cleanup.policy".into(), "delete".into());
        assert_eq!(check(&created, 6, 6), vec![]);
        assert_eq!(created["min.insync.replicas"], "2");
        // More partitions than configured is fine (a topic that grew).
        assert_eq!(check(&fit(), 12, 6), vec![]);
    }

    #[test]
    fn kafkas_defaults_are_refused() {
        // What `kafka-topics.sh --create` without settings gives on Apache Kafka.
        let defaults = configs(&[
            ("retention.ms", "604800000"),
            ("retention.bytes", "-1"),
            ("cleanup.policy", "delete"),
        ]);
        let p = check(&defaults, 6, 6);
        assert_eq!(
            p,
            vec![TopicProblem::FiniteRetention {
                setting: "retention.ms",
                value: "604800000".into()
            }]
        );
        let text = p[0].to_string();
        assert!(text.contains("retention.ms=-1"), "{text}");
        assert_eq!(p[0].setting(), "retention.ms");
    }

    #[test]
    fn compaction_size_limits_missing_settings_and_fewer_partitions_are_refused() {
        let mut c = fit();
        c.insert("cleanup.policy".into(), "compact, delete".into());
        c.insert("retention.bytes".into(), "1073741824".into());
        let p = check(&c, 3, 6);
        let settings: Vec<_> = p.iter().map(TopicProblem::setting).collect();
        assert_eq!(
            settings,
            vec!["retention.bytes", "cleanup.policy", "partitions"]
        );
        assert!(
            p[2].to_string().contains("kafka.partitions = 6"),
            "{}",
            p[2]
        );

        let p = check(&BTreeMap::new(), 6, 6);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p
            .iter()
            .all(|x| matches!(x, TopicProblem::Unreported { .. }) && !x.is_loss()));
        // Any negative retention is unlimited to Kafka; garbage is not.
        let mut c = fit();
        c.insert("retention.ms".into(), "-2".into());
        assert_eq!(check(&c, 6, 6), vec![]);
        c.insert("retention.ms".into(), "forever".into());
        assert_eq!(check(&c, 6, 6).len(), 1);
    }
}
