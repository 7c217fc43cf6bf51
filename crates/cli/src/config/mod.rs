//! Configuration: flags, then environment, then an optional TOML file, then defaults.
//!
//! Every setting has a dotted key (`kafka.brokers`). Sources are read through the
//! [`Source`] trait so the precedence rules are tested without touching the process
//! environment. Environment names are `LEADLEDGER_` + the key upper-cased with `.` → `_`
//! (`LEADLEDGER_KAFKA_BROKERS`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use leadledger_attribution::precompute::ModelSet;

use leadledger_grpc::auth::GateConfig;
use leadledger_log::config::TopicCheck;

use crate::telemetry::{LogFormat, Traces};
use leadledger_log::LogConfig;
use leadledger_sla::TenantPolicies;

mod keys;
mod values;

pub use keys::KEYS;
use values::{
    account_rules, auto_merge_rules, boolean, choice, custom_models, kafka_properties, non_empty,
    number, policy_file, tenant_policy_files, tls_files, traces,
};

/// A place settings come from.
pub trait Source {
    /// The value of `key`, if this source sets it.
    fn get(&self, key: &str) -> Option<String>;
}

/// Settings given as `key=value` pairs (flags).
#[derive(Debug, Default, Clone)]
pub struct Pairs(pub BTreeMap<String, String>);

impl Source for Pairs {
    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
}

/// The process environment.
pub struct Env;

impl Env {
    pub fn var_name(key: &str) -> String {
        format!("LEADLEDGER_{}", key.replace('.', "_").to_uppercase())
    }
}

impl Source for Env {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(Self::var_name(key))
            .ok()
            .filter(|v| !v.is_empty())
    }
}

/// A TOML file with tables (`[kafka] brokers = "..."`).
#[derive(Debug, Default)]
pub struct File(Pairs);

impl File {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("reading {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let value: toml::Table = text.parse().map_err(|e| ConfigError(format!("{e}")))?;
        let mut pairs = BTreeMap::new();
        flatten("", &toml::Value::Table(value), &mut pairs);
        for key in pairs.keys() {
            if !KEYS.iter().any(|(k, _, _)| k == key) {
                return Err(ConfigError(format!("unknown setting {key}")));
            }
        }
        Ok(Self(Pairs(pairs)))
    }
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

impl Source for File {
    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key)
    }
}

/// A configuration error, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub log: LogConfig,
    pub database_url: String,
    /// Whether a starting process migrates the schema or only checks it.
    pub migrate: MigrateOnStart,
    pub max_connections: u32,
    pub listen: String,
    pub projector_group: String,
    pub batch_max: usize,
    /// How long a partition may wait with no progress before the projector rejoins its group.
    pub stall_after: Duration,
    pub shutdown_grace: Duration,
    /// The precomputed attribution models (changing them re-projects every credit).
    pub attribution: ModelSet,
    /// SLA policies, calendar, feedback requirements and routing per tenant, validated at
    /// start.
    pub sla: TenantPolicies,
    /// The SLA worker's scan interval.
    pub sla_tick: Duration,
    /// The account rules per tier (`ownership.*`).
    pub account_rules: leadledger_domain::account::ownership::Rules,
    /// The auto-merge rules and the worker's tick (`identity.*`).
    pub auto_merge: leadledger_workers::auto_merge::AutoMergeConfig,
    /// The webhook deliverer's settings (`webhooks.*`).
    pub webhooks: leadledger_workers::webhooks::WebhookConfig,
    /// Authentication and per-key limits.
    pub auth: Auth,
    /// The longest any call may take.
    pub max_deadline: Duration,
    /// Events of ingest calls awaiting the broker's acknowledgement at once.
    pub log_queue: u32,
    /// How long a read waits for a free database connection before it is shed.
    pub db_wait: Duration,
    /// gRPC over TLS (`server.tls_*`), when configured.
    pub tls: Option<TlsFiles>,
    /// Where Prometheus metrics are served (`metrics.listen`), when set.
    pub metrics_listen: Option<String>,
    /// Text or JSON logs.
    pub log_format: LogFormat,
    /// Where traces go.
    pub traces: Traces,
}

/// The `server.tls_*` files (read at start; a missing file stops the process).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: String,
    pub key: String,
    /// Clients must present a certificate this CA signed.
    pub client_ca: Option<String>,
}

/// How callers authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Every call needs an API key; the tenant is the key's.
    Keys,
    /// No authentication: the caller names its tenant.
    None,
}

/// What a starting process does with the schema (`database.migrate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateOnStart {
    /// Create the database if missing and apply pending migrations.
    Auto,
    /// Only check that the schema is at the binary's newest migration.
    Check,
}

/// The `auth.*` and `limits.*` settings.
#[derive(Debug, Clone)]
pub struct Auth {
    pub mode: AuthMode,
    pub allow_none_on_public: bool,
    pub refresh: Duration,
    pub gate: GateConfig,
}

impl Config {
    /// Refuses `auth.mode = none` on an address others can reach, unless forced.
    pub fn check_listen_auth(&self) -> Result<(), ConfigError> {
        if self.auth.mode == AuthMode::None
            && !self.auth.allow_none_on_public
            && !is_loopback(&self.listen)
        {
            return Err(ConfigError(format!(
                "auth.mode = none on server.listen = {} would let anyone who reaches the port \
                 read and write every tenant; listen on 127.0.0.1, use auth.mode = keys, or \
                 set auth.allow_none_on_public = true",
                self.listen
            )));
        }
        Ok(())
    }
}

/// A setting's value as it may be printed or logged: passwords in URLs and secret settings
/// are masked.
pub fn redacted(key: &str, value: &str) -> String {
    if key == "kafka.properties" {
        return value
            .split(',')
            .map(|part| match part.split_once('=') {
                Some((k, _)) if is_secret_name(k) => format!("{k}=***"),
                _ => part.to_string(),
            })
            .collect::<Vec<_>>()
            .join(",");
    }
    if key.contains("password") && !key.ends_with("_file") || key.contains("secret") {
        return if value.is_empty() {
            String::new()
        } else {
            "***".into()
        };
    }
    if key.ends_with(".url") {
        return redact(value);
    }
    value.to_string()
}

/// `url` with its password masked.
pub fn redact(url: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => match base[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{}:***{}", &base[..s + 3], user, &base[at..]),
            None => base.to_string(),
        },
        _ => base.to_string(),
    };
    // A password may also travel as a query parameter (`?password=…`, `sslpassword=…`).
    match query {
        None => base,
        Some(q) => {
            let q: Vec<String> = q
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if is_secret_name(k) => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{base}?{}", q.join("&"))
        }
    }
}

/// Whether a setting or property name holds a secret (a password, a key, a token).
fn is_secret_name(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    [
        "password",
        "secret",
        "key.pem",
        "oauthbearer.config",
        "token",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// Whether a listen address is loopback only (`127.0.0.1:…`, `[::1]:…`, `localhost:…`).
fn is_loopback(listen: &str) -> bool {
    let host = listen
        .rsplit_once(':')
        .map_or(listen, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Config {
    /// Resolves every key from the first source that sets it, else its default.
    pub fn resolve(sources: &[&dyn Source]) -> Result<Self, ConfigError> {
        let get = |key: &str| -> String {
            sources.iter().find_map(|s| s.get(key)).unwrap_or_else(|| {
                KEYS.iter()
                    .find(|(k, _, _)| *k == key)
                    .map(|(_, d, _)| (*d).to_string())
                    .unwrap_or_default()
            })
        };
        let log = LogConfig {
            brokers: non_empty("kafka.brokers", get("kafka.brokers"))?,
            topic: non_empty("kafka.topic", get("kafka.topic"))?,
            partitions: number("kafka.partitions", &get("kafka.partitions"), 1, 10_000)?,
            replication: number("kafka.replication", &get("kafka.replication"), 1, 16)?,
            headers: boolean("kafka.headers", &get("kafka.headers"))?,
            properties: kafka_properties(
                &get("kafka.properties"),
                &get("kafka.sasl_password_file"),
            )?,
            min_insync_replicas: number(
                "kafka.min_insync_replicas",
                &get("kafka.min_insync_replicas"),
                1,
                16,
            )?,
            topic_check: choice(
                "kafka.topic_check",
                &get("kafka.topic_check"),
                &[("enforce", TopicCheck::Enforce), ("warn", TopicCheck::Warn)],
            )?,
        };
        let group = get("projector.group");
        Ok(Self {
            projector_group: if group.is_empty() {
                format!("{}.projector", log.topic)
            } else {
                group
            },
            log,
            database_url: non_empty("database.url", get("database.url"))?,
            migrate: choice(
                "database.migrate",
                &get("database.migrate"),
                &[
                    ("auto", MigrateOnStart::Auto),
                    ("check", MigrateOnStart::Check),
                ],
            )?,
            max_connections: number(
                "database.max_connections",
                &get("database.max_connections"),
                1,
                1000,
            )?,
            listen: non_empty("server.listen", get("server.listen"))?,
            batch_max: number(
                "projector.batch_max",
                &get("projector.batch_max"),
                1,
                100_000,
            )?,
            stall_after: Duration::from_secs(number(
                "projector.stall_after_secs",
                &get("projector.stall_after_secs"),
                15,
                86_400,
            )?),
            shutdown_grace: Duration::from_millis(number(
                "shutdown.grace_ms",
                &get("shutdown.grace_ms"),
                0,
                600_000,
            )?),
            attribution: ModelSet::new(
                number(
                    "attribution.half_life_hours",
                    &get("attribution.half_life_hours"),
                    1,
                    87_600,
                )?,
                number(
                    "attribution.lookback_days",
                    &get("attribution.lookback_days"),
                    1,
                    3_650,
                )?,
                &custom_models(&get("attribution.custom_models"))?,
            )
            .map_err(|e| ConfigError(format!("attribution: {e}")))?,
            sla: TenantPolicies {
                default: policy_file("sla.policy_file", &get("sla.policy_file"))?,
                tenants: tenant_policy_files(&get("sla.tenant_policy_files"))?,
            },
            sla_tick: Duration::from_millis(number(
                "sla.tick_ms",
                &get("sla.tick_ms"),
                10,
                3_600_000,
            )?),
            account_rules: account_rules(
                &get("ownership.account_rules"),
                &get("ownership.default_account_rule"),
            )?,
            auto_merge: leadledger_workers::auto_merge::AutoMergeConfig {
                rules: auto_merge_rules(
                    &get("identity.auto_merge"),
                    &get("identity.tenant_auto_merge"),
                )?,
                tick: Duration::from_millis(number(
                    "identity.auto_merge_tick_ms",
                    &get("identity.auto_merge_tick_ms"),
                    10,
                    86_400_000,
                )?),
            },
            webhooks: {
                let ms = |key: &str, lo: u64, hi: u64| -> Result<Duration, ConfigError> {
                    Ok(Duration::from_millis(number(key, &get(key), lo, hi)?))
                };
                leadledger_workers::webhooks::WebhookConfig {
                    tick: ms("webhooks.tick_ms", 10, 3_600_000)?,
                    timeout: ms("webhooks.timeout_ms", 100, 300_000)?,
                    max_attempts: number(
                        "webhooks.max_attempts",
                        &get("webhooks.max_attempts"),
                        1,
                        100,
                    )?,
                    backoff_base: ms("webhooks.backoff_ms", 10, 3_600_000)?,
                    backoff_max: ms("webhooks.backoff_max_ms", 10, 86_400_000)?,
                    concurrency: number(
                        "webhooks.concurrency",
                        &get("webhooks.concurrency"),
                        1,
                        256,
                    )?,
                }
            },
            auth: Auth {
                mode: choice(
                    "auth.mode",
                    &get("auth.mode"),
                    &[("keys", AuthMode::Keys), ("none", AuthMode::None)],
                )?,
                allow_none_on_public: boolean(
                    "auth.allow_none_on_public",
                    &get("auth.allow_none_on_public"),
                )?,
                refresh: Duration::from_millis(number(
                    "auth.refresh_ms",
                    &get("auth.refresh_ms"),
                    100,
                    3_600_000,
                )?),
                gate: GateConfig {
                    open_health: boolean("auth.open_health", &get("auth.open_health"))?,
                    rate_per_sec: number(
                        "limits.rate_per_sec",
                        &get("limits.rate_per_sec"),
                        0,
                        1_000_000,
                    )?,
                    burst: number("limits.burst", &get("limits.burst"), 0, 10_000_000)?,
                    concurrency: number(
                        "limits.concurrency",
                        &get("limits.concurrency"),
                        0,
                        100_000,
                    )?,
                },
            },
            tls: tls_files(
                &get("server.tls_cert_file"),
                &get("server.tls_key_file"),
                &get("server.tls_client_ca_file"),
            )?,
            max_deadline: Duration::from_millis(number(
                "limits.max_deadline_ms",
                &get("limits.max_deadline_ms"),
                1_000,
                3_600_000,
            )?),
            // At most librdkafka's own queue (`queue.buffering.max.messages`, 100 000 by
            // default), so an admitted call never meets a full producer queue.
            log_queue: number(
                "limits.log_queue",
                &get("limits.log_queue"),
                leadledger_domain::validate::MAX_BATCH as u32,
                100_000,
            )?,
            db_wait: Duration::from_millis(number(
                "limits.db_wait_ms",
                &get("limits.db_wait_ms"),
                10,
                600_000,
            )?),
            metrics_listen: Some(get("metrics.listen").trim().to_string())
                .filter(|l| !l.is_empty()),
            traces: traces(
                &get("telemetry.otlp_endpoint"),
                &get("telemetry.sample_ratio"),
                &get("telemetry.resource_attributes"),
            )?,
            log_format: choice(
                "logging.format",
                &get("logging.format"),
                &[("text", LogFormat::Text), ("json", LogFormat::Json)],
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use leadledger_sla::PolicySet;

    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Pairs {
        Pairs(
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_work_on_this_machine() {
        let c = Config::resolve(&[]).unwrap();
        assert_eq!(c.log.brokers, "127.0.0.1:9092");
        assert_eq!(c.listen, "127.0.0.1:50051");
        assert_eq!(c.projector_group, "leadledger.events.projector");
        assert!(c.log.headers);
    }

    #[test]
    fn first_source_wins() {
        let flags = pairs(&[("kafka.topic", "flags.events")]);
        let file = File::parse("[kafka]\ntopic = \"file.events\"\npartitions = 3\n").unwrap();
        let c = Config::resolve(&[&flags, &file]).unwrap();
        assert_eq!(c.log.topic, "flags.events");
        assert_eq!(c.log.partitions, 3);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let e = Config::resolve(&[&pairs(&[("kafka.partitions", "many")])]).unwrap_err();
        assert!(e.to_string().contains("kafka.partitions"), "{e}");
        let e = Config::resolve(&[&pairs(&[("kafka.headers", "maybe")])]).unwrap_err();
        assert!(e.to_string().contains("kafka.headers"), "{e}");
        let e = File::parse("[kafka]\nbrokerz = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("kafka.brokerz"), "{e}");
        let e = File::parse("not toml [").unwrap_err();
        assert!(e.to_string().contains("configuration"));
    }

    #[test]
    fn tenants_get_their_own_policy_files_and_bad_ones_are_named() {
        let dir = std::env::temp_dir().join(format!("ll-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("sh.toml");
        std::fs::write(
            &good,
            "version = 1\n[calendar]\ntime_zone = \"Asia/Shanghai\"\n",
        )
        .unwrap();
        let bad = dir.join("bad.toml");
        std::fs::write(
            &bad,
            "version = 1\n[calendar]\ntime_zone = \"Asia/Shangai\"\n",
        )
        .unwrap();
        let c = Config::resolve(&[&pairs(&[(
            "sla.tenant_policy_files",
            &format!("sh={}", good.display()),
        )])])
        .unwrap();
        assert_eq!(
            c.sla.for_tenant("sh").calendar.tz().to_string(),
            "Asia/Shanghai"
        );
        assert_eq!(c.sla.for_tenant("acme"), &PolicySet::defaults());
        let e = Config::resolve(&[&pairs(&[(
            "sla.tenant_policy_files",
            &format!("acme={}", bad.display()),
        )])])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("sla.tenant_policy_files[acme]") && e.contains("Shangai"),
            "{e}"
        );
        let e = Config::resolve(&[&pairs(&[("sla.tenant_policy_files", "acme")])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("tenant=path"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn custom_attribution_models_parse_and_bad_ones_are_named() {
        let c = Config::resolve(&[&pairs(&[(
            "attribution.custom_models",
            "forty_forty:first=4000,last=4000,others=2000; oc_heavy:opportunity_creation=10000",
        )])])
        .unwrap();
        let names: Vec<&str> = c
            .attribution
            .models
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names.len(), 12);
        assert_eq!(&names[10..], ["forty_forty", "oc_heavy"]);
        for (bad, says) in [
            ("x:first=1", "10000"),
            ("linear:first=10000", "new lower_snake_case name"),
            ("x:middle=10000", "unknown position"),
            ("x", "not name:weights"),
        ] {
            let e = Config::resolve(&[&pairs(&[("attribution.custom_models", bad)])]).unwrap_err();
            assert!(e.0.contains("attribution"), "{e}");
            assert!(e.0.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn auto_merge_rules_parse_per_tenant_and_bad_ones_are_named() {
        use leadledger_domain::identity::matching::Rule;
        let c = Config::resolve(&[]).unwrap();
        assert!(c.auto_merge.rules.is_off());
        assert_eq!(c.auto_merge.tick, Duration::from_secs(60));
        let c = Config::resolve(&[&pairs(&[
            ("identity.auto_merge", "email, phone,email"),
            (
                "identity.tenant_auto_merge",
                "acme=email+name_company, careful=none",
            ),
        ])])
        .unwrap();
        let r = &c.auto_merge.rules;
        assert_eq!(r.for_tenant("globex"), &[Rule::Email, Rule::Phone]);
        assert_eq!(r.for_tenant("acme"), &[Rule::Email, Rule::NameCompany]);
        assert!(r.for_tenant("careful").is_empty());
        for (key, bad, says) in [
            (
                "identity.auto_merge",
                "email,soundex",
                "unknown rule \"soundex\"",
            ),
            ("identity.tenant_auto_merge", "acme", "not tenant=rule+rule"),
            (
                "identity.tenant_auto_merge",
                "a=email,a=phone",
                "listed twice",
            ),
            (
                "identity.tenant_auto_merge",
                "a=email,phone",
                "not tenant=rule+rule",
            ),
            (
                "identity.auto_merge_tick_ms",
                "0",
                "identity.auto_merge_tick_ms",
            ),
        ] {
            let e = Config::resolve(&[&pairs(&[(key, bad)])]).unwrap_err();
            assert!(e.0.contains(key), "{e}");
            assert!(e.0.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn account_rules_parse_per_tier_and_bad_ones_are_named() {
        use leadledger_domain::account::ownership::Rule;
        let c = Config::resolve(&[]).unwrap();
        assert_eq!(c.account_rules.of("KA"), Rule::AccountOwner);
        assert_eq!(c.account_rules.of(""), Rule::None);
        let c = Config::resolve(&[&pairs(&[
            (
                "ownership.account_rules",
                "KA=account_owner, SMB = first_claim",
            ),
            ("ownership.default_account_rule", "first_claim"),
        ])])
        .unwrap();
        assert_eq!(c.account_rules.of("SMB"), Rule::FirstClaim);
        assert_eq!(c.account_rules.of("MM"), Rule::FirstClaim);
        let c = Config::resolve(&[&pairs(&[("ownership.account_rules", "")])]).unwrap();
        assert!(!c.account_rules.any(), "empty: no account step at all");
        for (key, bad, says) in [
            ("ownership.account_rules", "KA=owner", "no rule"),
            ("ownership.account_rules", "KA", "not tier=rule"),
            (
                "ownership.account_rules",
                "KA=none,KA=first_claim",
                "listed twice",
            ),
            ("ownership.default_account_rule", "sometimes", "no rule"),
        ] {
            let e = Config::resolve(&[&pairs(&[(key, bad)])]).unwrap_err();
            assert!(e.0.contains(key), "{e}");
            assert!(e.0.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn no_auth_is_refused_where_others_can_reach_it() {
        let none = |listen: &str, force: &str| {
            Config::resolve(&[&pairs(&[
                ("auth.mode", "none"),
                ("server.listen", listen),
                ("auth.allow_none_on_public", force),
            ])])
            .unwrap()
            .check_listen_auth()
        };
        assert!(none("127.0.0.1:50051", "false").is_ok());
        assert!(none("[::1]:50051", "false").is_ok());
        assert!(none("localhost:50051", "false").is_ok());
        let e = none("0.0.0.0:50051", "false").unwrap_err().to_string();
        assert!(e.contains("auth.allow_none_on_public"), "{e}");
        assert!(none("10.1.2.3:50051", "false").is_err());
        assert!(none("0.0.0.0:50051", "true").is_ok());
        let keys = Config::resolve(&[&pairs(&[("server.listen", "0.0.0.0:50051")])]).unwrap();
        assert_eq!(keys.auth.mode, AuthMode::Keys);
        assert!(keys.check_listen_auth().is_ok());
        let e = Config::resolve(&[&pairs(&[("auth.mode", "open")])]).unwrap_err();
        assert!(e.to_string().contains("auth.mode"), "{e}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn telemetry_metrics_and_topic_settings_are_checked() {
        let c = Config::resolve(&[&pairs(&[
            ("telemetry.otlp_endpoint", "http://collector:4317"),
            ("telemetry.sample_ratio", "0.25"),
            (
                "telemetry.resource_attributes",
                "deployment.environment=prod, team=revops",
            ),
            ("metrics.listen", "0.0.0.0:9464"),
            ("logging.format", "json"),
            ("kafka.topic_check", "warn"),
            ("kafka.min_insync_replicas", "2"),
        ])])
        .unwrap();
        assert_eq!(c.traces.endpoint.as_deref(), Some("http://collector:4317"));
        assert_eq!(c.traces.sample_ratio, 0.25);
        assert_eq!(
            c.traces.resource,
            vec![
                ("deployment.environment".to_string(), "prod".to_string()),
                ("team".to_string(), "revops".to_string())
            ]
        );
        assert_eq!(c.metrics_listen.as_deref(), Some("0.0.0.0:9464"));
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.log.topic_check, TopicCheck::Warn);
        assert_eq!(c.log.min_insync_replicas, 2);
        let d = Config::resolve(&[]).unwrap();
        assert_eq!((d.traces.endpoint, d.metrics_listen), (None, None));
        for (k, v) in [
            ("telemetry.otlp_endpoint", "collector:4317"),
            ("telemetry.sample_ratio", "1.5"),
            ("telemetry.resource_attributes", "novalue"),
            ("logging.format", "xml"),
            ("kafka.topic_check", "ignore"),
        ] {
            let e = Config::resolve(&[&pairs(&[(k, v)])]).unwrap_err();
            assert!(e.to_string().contains(k), "{k}: {e}");
        }
    }

    #[test]
    fn kafka_properties_reach_the_log_config_and_passwords_are_masked() {
        let dir = std::env::temp_dir().join(format!("ll-kprops-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pw = dir.join("pw");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let c = Config::resolve(&[&pairs(&[
            (
                "kafka.properties",
                "security.protocol=sasl_ssl, sasl.mechanism=SCRAM-SHA-512,sasl.username=ll",
            ),
            ("kafka.sasl_password_file", pw.to_str().unwrap()),
        ])])
        .unwrap();
        assert_eq!(
            c.log.properties,
            [
                ("security.protocol".to_string(), "sasl_ssl".to_string()),
                ("sasl.mechanism".into(), "SCRAM-SHA-512".into()),
                ("sasl.username".into(), "ll".into()),
                ("sasl.password".into(), "s3cret".into()),
            ]
        );
        let e = Config::resolve(&[&pairs(&[("kafka.properties", "acks=1")])]).unwrap_err();
        assert!(e.0.contains("acks"), "{e}");
        assert_eq!(
            redacted("kafka.properties", "sasl.username=ll,sasl.password=x"),
            "sasl.username=ll,sasl.password=***"
        );
        assert_eq!(
            redacted("database.url", "postgres://u:pw@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redacted(
                "database.url",
                "postgres://u@h/db?sslmode=verify-full&password=pw"
            ),
            "postgres://u@h/db?sslmode=verify-full&password=***"
        );
        assert_eq!(
            redacted(
                "kafka.properties",
                "ssl.key.pem=-----BEGIN,sasl.oauthbearer.config=x"
            ),
            "ssl.key.pem=***,sasl.oauthbearer.config=***"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn env_names() {
        assert_eq!(Env::var_name("kafka.brokers"), "LEADLEDGER_KAFKA_BROKERS");
        assert_eq!(
            Env::var_name("database.max_connections"),
            "LEADLEDGER_DATABASE_MAX_CONNECTIONS"
        );
    }
}
