//! Every setting: its dotted key, its default and what it means (printed by
//! `leadledger config`; docs/CONFIGURATION.md says the same).

/// Every key, its default and what it means (printed by `leadledger config`).
pub const KEYS: &[(&str, &str, &str)] = &[
    (
        "kafka.brokers",
        "127.0.0.1:9092",
        "bootstrap servers of the Kafka-protocol broker",
    ),
    (
        "kafka.topic",
        "leadledger.events",
        "the events topic (its dead letters go to <topic>.dlq)",
    ),
    (
        "kafka.partitions",
        "6",
        "partitions of the events topic when leadledger creates it",
    ),
    (
        "kafka.replication",
        "1",
        "replication factor when leadledger creates topics",
    ),
    (
        "kafka.min_insync_replicas",
        "1",
        "min.insync.replicas of the topics leadledger creates (2 with kafka.replication = 3 in production)",
    ),
    (
        "kafka.topic_check",
        "enforce",
        "enforce: refuse to start when the events topic exists with finite retention, compaction or fewer partitions than kafka.partitions (the log is the source of truth and is never deleted); warn: log it and start",
    ),
    (
        "kafka.headers",
        "true",
        "write Kafka headers on event records (false for the Tansu dev broker)",
    ),
    (
        "kafka.properties",
        "",
        "librdkafka properties for every Kafka client, k=v,k=v: TLS (security.protocol=ssl, ssl.ca.location=...) and SASL (security.protocol=sasl_ssl, sasl.mechanism=SCRAM-SHA-512, sasl.username=...); passwords are masked when printed",
    ),
    (
        "kafka.sasl_password_file",
        "",
        "a file holding sasl.password (kept out of the environment and of kafka.properties)",
    ),
    (
        "database.url",
        "postgres://postgres@127.0.0.1:5432/leadledger",
        "PostgreSQL read-model database (created if missing)",
    ),
    (
        "database.migrate",
        "auto",
        "auto: create the database if missing and apply migrations at start; check: only check the schema is migrated (a database user that may read and write rows but not change the schema; run `leadledger migrate` as the owner first)",
    ),
    (
        "database.max_connections",
        "8",
        "connection pool size per process",
    ),
    ("server.listen", "127.0.0.1:50051", "gRPC listen address"),
    (
        "server.tls_cert_file",
        "",
        "PEM certificate chain: serve gRPC over TLS (with server.tls_key_file); empty: plaintext",
    ),
    (
        "server.tls_key_file",
        "",
        "PEM private key of server.tls_cert_file",
    ),
    (
        "server.tls_client_ca_file",
        "",
        "PEM CA: clients must present a certificate it signed (mutual TLS); empty: no client certificates",
    ),
    (
        "metrics.listen",
        "",
        "serve Prometheus metrics of this process at http://<address>/metrics, e.g. 0.0.0.0:9464 (docs/OPERATIONS.md); empty: off",
    ),
    (
        "telemetry.otlp_endpoint",
        "",
        "export traces over OTLP/gRPC to this collector, e.g. http://otel-collector:4317 (docs/OPERATIONS.md); empty: no export (contexts still propagate)",
    ),
    (
        "telemetry.sample_ratio",
        "1.0",
        "share of new traces recorded, 0.0 to 1.0 (a caller's sampled flag is followed)",
    ),
    (
        "telemetry.resource_attributes",
        "",
        "extra OpenTelemetry resource attributes, k=v,k=v (e.g. deployment.environment=prod)",
    ),
    (
        "logging.format",
        "text",
        "text: one readable line per log event; json: one JSON object per line (filter with LEADLEDGER_LOG)",
    ),
    (
        "projector.group",
        "",
        "consumer group (default: <topic>.projector)",
    ),
    (
        "projector.batch_max",
        "2000",
        "most records applied per PostgreSQL transaction",
    ),
    (
        "projector.stall_after_secs",
        "60",
        "rejoin the group when a partition's records wait this long with no progress",
    ),
    (
        "shutdown.grace_ms",
        "10000",
        "how long a graceful shutdown may take",
    ),
    (
        "attribution.half_life_hours",
        "168",
        "time-decay half-life of the precomputed credits",
    ),
    (
        "attribution.lookback_days",
        "90",
        "account-level lookback of the precomputed credits",
    ),
    (
        "sla.policy_file",
        "",
        "SLA policies, business calendar, feedback requirements and routing (TOML, docs/SLA.md); empty: the shipped defaults",
    ),
    (
        "sla.tenant_policy_files",
        "",
        "tenants with their own policy file (calendar, policies, feedback, routing): tenant=path,tenant2=path; the others use sla.policy_file",
    ),
    (
        "sla.tick_ms",
        "1000",
        "how often the SLA worker looks for clocks to alert on and MQLs to route",
    ),
    (
        "identity.auto_merge",
        "",
        "duplicate rules that merge leads without a person, for every tenant: email, phone, name_company, comma-separated (docs/IDENTITY.md); empty: none, candidates are only listed",
    ),
    (
        "identity.tenant_auto_merge",
        "",
        "tenants with their own auto-merge rules: tenant=email+phone,tenant2=none; the others use identity.auto_merge",
    ),
    (
        "ownership.account_rules",
        "KA=account_owner",
        "the rule deciding a claim or assignment of a lead whose account another rep owns, per target-account tier: tier=rule,tier2=rule with rules none, account_owner, first_claim (docs/IDENTITY.md, \"Account ownership\")",
    ),
    (
        "ownership.default_account_rule",
        "none",
        "the rule for accounts of a tier not in ownership.account_rules, and accounts on no target list: none, account_owner or first_claim",
    ),
    (
        "identity.auto_merge_tick_ms",
        "60000",
        "how often the auto-merge worker (roles sla and all) looks for duplicates its rules merge",
    ),
    (
        "webhooks.tick_ms",
        "500",
        "how often the webhook deliverer (roles sla and all) looks for SLA notices to POST",
    ),
    (
        "webhooks.timeout_ms",
        "10000",
        "longest wait for a webhook receiver's answer (no answer counts as a failure)",
    ),
    (
        "webhooks.max_attempts",
        "8",
        "failures after which a notice is given up into the dead-letter list",
    ),
    (
        "webhooks.backoff_ms",
        "1000",
        "wait after a webhook's first failure, doubled after each next one",
    ),
    (
        "webhooks.backoff_max_ms",
        "300000",
        "longest wait between two attempts at one webhook notice",
    ),
    (
        "webhooks.concurrency",
        "8",
        "webhook subscriptions served at once",
    ),
    (
        "attribution.custom_models",
        "",
        "extra precomputed position models: name:first=4000,last=4000,others=2000;name2:...",
    ),
    (
        "auth.mode",
        "keys",
        "keys: every call needs an API key (`leadledger keys create`); none: no authentication, the caller names its tenant (a laptop only: refused on a non-loopback listen address unless auth.allow_none_on_public)",
    ),
    (
        "auth.allow_none_on_public",
        "false",
        "let auth.mode = none listen on a non-loopback address (anyone who reaches the port is every tenant)",
    ),
    (
        "auth.open_health",
        "true",
        "gRPC health and reflection answer without a key",
    ),
    (
        "auth.refresh_ms",
        "5000",
        "how often each process reloads the API keys: the bound on how long a revoked key keeps working",
    ),
    (
        "limits.rate_per_sec",
        "1000",
        "calls per second per API key (0: no limit); over it: RESOURCE_EXHAUSTED with retry info",
    ),
    (
        "limits.burst",
        "2000",
        "calls an API key may make at once above its rate",
    ),
    (
        "limits.concurrency",
        "64",
        "calls of one API key in progress at once (0: no limit)",
    ),
    (
        "limits.log_queue",
        "20000",
        "events of ingest calls awaiting the broker's acknowledgement at once; a call that does not fit is refused whole with UNAVAILABLE (load shedding)",
    ),
    (
        "limits.db_wait_ms",
        "1000",
        "how long a read waits for a free database connection of the query role's pool before it is refused with UNAVAILABLE (load shedding)",
    ),
    (
        "limits.max_deadline_ms",
        "60000",
        "the longest any call may take, whatever deadline the client set",
    ),
];
