//! leadledger's log: everything that touches Kafka.
//!
//! The log is the source of truth. Events are keyed by lead id, so per-lead order is
//! partition order; every value is a protobuf `leadledger.v1.Event` with headers that let a
//! reader route or skip a record without decoding it.
//!
//! # Layout
//! - [`config`]: broker address and topic names.
//! - [`admin`]: explicit topic creation (the dev broker does not auto-create).
//! - [`retention`]: the log is never deleted: the settings topics are created with, and the
//!   check of an existing topic.
//! - [`envelope`]: record encoding/decoding and headers.
//! - [`producer`]: the idempotent producer (`enable.idempotence=true`, `acks=all`).
//! - [`consumer`]: consumer configuration and a context that reports partition assignment.
//! - [`decode`]: a record as a domain event, or the reason it is a dead letter.
//! - [`trace`]: the W3C trace context a record carries.
//! - [`dead_letter`]: where undecodable records go, with the reason in headers.

pub mod admin;
pub mod config;
pub mod consumer;
pub mod dead_letter;
pub mod decode;
pub mod envelope;
pub mod producer;
pub mod retention;
pub mod trace;

pub use config::LogConfig;
pub use producer::{EventProducer, Position};

/// Errors of the log layer.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("delivery was cancelled (producer shut down)")]
    Cancelled,
    #[error("topic admin: {0}")]
    Admin(String),
    /// The broker refused the client's credentials (SASL): librdkafka's reason.
    #[error(
        "the broker refused leadledger's credentials ({0}): check kafka.properties (sasl.*) \
         and kafka.sasl_password_file"
    )]
    Authentication(String),
    #[error(
        "the events topic {topic} would lose events: {problems} \
         (kafka.topic_check = warn starts anyway)"
    )]
    UnfitTopic { topic: String, problems: String },
}
