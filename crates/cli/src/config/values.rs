//! One setting's value, parsed and checked: numbers in a range, booleans, one of a few
//! words, and the settings with a syntax of their own (Kafka properties, TLS files, traces,
//! policy files, custom attribution models, auto-merge rules). Every error names the setting.

use std::collections::BTreeMap;

use leadledger_attribution::{Model, PositionWeights};
use leadledger_domain::account::ownership::{Rule as AccountRule, Rules as AccountRules};
use leadledger_domain::identity::matching::Rule;
use leadledger_sla::PolicySet;
use leadledger_workers::auto_merge::AutoMergeRules;

use super::{ConfigError, TlsFiles};
use crate::telemetry::Traces;

/// One of `options` (`word` → value); otherwise an error listing them.
pub(super) fn choice<T: Copy>(key: &str, v: &str, options: &[(&str, T)]) -> Result<T, ConfigError> {
    options
        .iter()
        .find(|(word, _)| *word == v.trim())
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
            ConfigError(format!(
                "{key} must be {}, got {:?}",
                words.join(" or "),
                v.trim()
            ))
        })
}

/// `kafka.properties` (`k=v,k=v`) plus `sasl.password` from `kafka.sasl_password_file`.
/// Properties leadledger manages itself are refused with the setting to use instead.
pub(super) fn kafka_properties(
    v: &str,
    password_file: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    const KEY: &str = "kafka.properties";
    let mut out: Vec<(String, String)> = Vec::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, val) = part
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| ConfigError(format!("{KEY}: {part:?} is not key=value")))?;
        if leadledger_log::config::MANAGED_PROPERTIES.contains(&k) {
            return Err(ConfigError(format!(
                "{KEY}: {k} is set by leadledger itself (brokers: kafka.brokers)"
            )));
        }
        out.push((k.to_string(), val.to_string()));
    }
    if !password_file.trim().is_empty() {
        let p = password_file.trim();
        let pw = std::fs::read_to_string(p)
            .map_err(|e| ConfigError(format!("kafka.sasl_password_file: reading {p}: {e}")))?;
        out.push((
            "sasl.password".into(),
            pw.trim_end_matches(['\n', '\r']).to_string(),
        ));
    }
    Ok(out)
}

pub(super) fn tls_files(
    cert: &str,
    key: &str,
    client_ca: &str,
) -> Result<Option<TlsFiles>, ConfigError> {
    match (cert.trim(), key.trim()) {
        ("", "") if client_ca.trim().is_empty() => Ok(None),
        ("", _) | (_, "") => Err(ConfigError(
            "server.tls_cert_file and server.tls_key_file go together (and \
             server.tls_client_ca_file needs both)"
                .into(),
        )),
        (c, k) => Ok(Some(TlsFiles {
            cert: c.to_string(),
            key: k.to_string(),
            client_ca: Some(client_ca.trim().to_string()).filter(|s| !s.is_empty()),
        })),
    }
}

/// The `telemetry.*` settings.
pub(super) fn traces(endpoint: &str, ratio: &str, resource: &str) -> Result<Traces, ConfigError> {
    let endpoint = endpoint.trim();
    if !endpoint.is_empty() && !endpoint.starts_with("http://") && !endpoint.starts_with("https://")
    {
        return Err(ConfigError(format!(
            "telemetry.otlp_endpoint must be an http:// or https:// URL, got {endpoint:?}"
        )));
    }
    let sample_ratio: f64 = ratio
        .trim()
        .parse()
        .ok()
        .filter(|r: &f64| (0.0..=1.0).contains(r))
        .ok_or_else(|| {
            ConfigError(format!(
                "telemetry.sample_ratio must be a number from 0.0 to 1.0, got {ratio:?}"
            ))
        })?;
    let resource = resource
        .split(',')
        .map(str::trim)
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(ConfigError(format!(
                "telemetry.resource_attributes: {kv:?} is not key=value"
            ))),
        })
        .collect::<Result<_, _>>()?;
    Ok(Traces {
        endpoint: (!endpoint.is_empty()).then(|| endpoint.to_string()),
        sample_ratio,
        resource,
    })
}

/// The policy file, or the shipped defaults when none is named. A bad file is refused with
/// the file's path and the policy and field at fault.
pub(super) fn policy_file(key: &str, path: &str) -> Result<PolicySet, ConfigError> {
    if path.is_empty() {
        return Ok(PolicySet::defaults());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{key}: reading {path}: {e}")))?;
    PolicySet::from_toml(&text).map_err(|e| ConfigError(format!("{key}: {path}: {e}")))
}

/// `tenant=path,tenant2=path`: each file read and validated like `sla.policy_file`.
pub(super) fn tenant_policy_files(v: &str) -> Result<BTreeMap<String, PolicySet>, ConfigError> {
    const KEY: &str = "sla.tenant_policy_files";
    let mut out = BTreeMap::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (tenant, path) = part
            .split_once('=')
            .map(|(t, p)| (t.trim(), p.trim()))
            .filter(|(t, p)| !t.is_empty() && !p.is_empty())
            .ok_or_else(|| ConfigError(format!("{KEY}: {part:?} is not tenant=path")))?;
        let set = policy_file(&format!("{KEY}[{tenant}]"), path)?;
        if out.insert(tenant.to_string(), set).is_some() {
            return Err(ConfigError(format!(
                "{KEY}: tenant {tenant:?} is listed twice"
            )));
        }
    }
    Ok(out)
}

/// `name:first=4000,last=4000,others=2000;name2:...` (weights in basis points, summing to
/// 10000; keys first, lead_creation, opportunity_creation, closed_won, last, others).
pub(super) fn custom_models(v: &str) -> Result<Vec<(String, PositionWeights)>, ConfigError> {
    const KEY: &str = "attribution.custom_models";
    let builtin = Model::rule_based();
    let mut out: Vec<(String, PositionWeights)> = Vec::new();
    for part in v.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weights) = part
            .split_once(':')
            .ok_or_else(|| ConfigError(format!("{KEY}: {part:?} is not name:weights")))?;
        let name = name.trim();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid
            || builtin.iter().any(|m| m.name() == name)
            || ["custom", "markov", "shapley"].contains(&name)
            || out.iter().any(|(n, _)| n == name)
        {
            return Err(ConfigError(format!(
                "{KEY}: {name:?} must be a new lower_snake_case name"
            )));
        }
        let mut w = PositionWeights::default();
        for kv in weights.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, n) = kv
                .split_once('=')
                .ok_or_else(|| ConfigError(format!("{KEY}: {name}: {kv:?} is not key=points")))?;
            let n: u32 = n
                .trim()
                .parse()
                .map_err(|_| ConfigError(format!("{KEY}: {name}: {kv:?} is not a number")))?;
            let slot = match k.trim() {
                "first" => &mut w.first,
                "lead_creation" => &mut w.lead_creation,
                "opportunity_creation" => &mut w.opportunity_creation,
                "closed_won" => &mut w.closed_won,
                "last" => &mut w.last,
                "others" => &mut w.others,
                other => {
                    return Err(ConfigError(format!(
                        "{KEY}: {name}: unknown position {other:?}"
                    )))
                }
            };
            *slot = n;
        }
        w.validate()
            .map_err(|e| ConfigError(format!("{KEY}: {name}: {e}")))?;
        out.push((name.to_string(), w));
    }
    Ok(out)
}

pub(super) fn non_empty(key: &str, v: String) -> Result<String, ConfigError> {
    if v.trim().is_empty() {
        Err(ConfigError(format!("{key} must not be empty")))
    } else {
        Ok(v)
    }
}

pub(super) fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    v: &str,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    let n: T = v
        .trim()
        .parse()
        .map_err(|_| ConfigError(format!("{key} must be a number, got {v:?}")))?;
    if n < min || n > max {
        return Err(ConfigError(format!("{key} must be {min}..{max}, got {n}")));
    }
    Ok(n)
}

pub(super) fn boolean(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError(format!(
            "{key} must be true or false, got {v:?}"
        ))),
    }
}

/// Duplicate rule names separated by `sep` (`none` or nothing: no rule).
fn rule_list(key: &str, v: &str, sep: char) -> Result<Vec<Rule>, ConfigError> {
    let mut out = Vec::new();
    for name in v.split(sep).map(str::trim).filter(|n| !n.is_empty()) {
        if name == "none" {
            continue;
        }
        let r = Rule::parse(name).ok_or_else(|| {
            ConfigError(format!(
                "{key}: unknown rule {name:?} (one of email, phone, name_company, none)"
            ))
        })?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// `identity.auto_merge` (`email,phone`) and `identity.tenant_auto_merge`
/// (`tenant=email+phone,tenant2=none`).
pub(super) fn auto_merge_rules(
    default: &str,
    tenants: &str,
) -> Result<AutoMergeRules, ConfigError> {
    const KEY: &str = "identity.tenant_auto_merge";
    let mut out = AutoMergeRules {
        default: rule_list("identity.auto_merge", default, ',')?,
        tenants: BTreeMap::new(),
    };
    for part in tenants.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (tenant, rules) = part
            .split_once('=')
            .map(|(t, r)| (t.trim(), r.trim()))
            .filter(|(t, r)| !t.is_empty() && !r.is_empty())
            .ok_or_else(|| ConfigError(format!("{KEY}: {part:?} is not tenant=rule+rule")))?;
        let rules = rule_list(&format!("{KEY}[{tenant}]"), rules, '+')?;
        if out.tenants.insert(tenant.to_string(), rules).is_some() {
            return Err(ConfigError(format!(
                "{KEY}: tenant {tenant:?} is listed twice"
            )));
        }
    }
    Ok(out)
}

/// `ownership.account_rules` (`KA=account_owner,SMB=first_claim`) and
/// `ownership.default_account_rule`.
pub(super) fn account_rules(by_tier: &str, default: &str) -> Result<AccountRules, ConfigError> {
    const KEY: &str = "ownership.account_rules";
    let rule = |key: &str, name: &str| {
        AccountRule::parse(name).ok_or_else(|| {
            ConfigError(format!(
                "{key}: {name:?} is no rule (none, account_owner, first_claim)"
            ))
        })
    };
    let mut out = AccountRules {
        by_tier: BTreeMap::new(),
        default: rule("ownership.default_account_rule", default.trim())?,
    };
    for part in by_tier.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (tier, name) = part
            .split_once('=')
            .map(|(t, r)| (t.trim(), r.trim()))
            .filter(|(t, r)| !t.is_empty() && !r.is_empty())
            .ok_or_else(|| ConfigError(format!("{KEY}: {part:?} is not tier=rule")))?;
        let r = rule(&format!("{KEY}[{tier}]"), name)?;
        if out.by_tier.insert(tier.to_string(), r).is_some() {
            return Err(ConfigError(format!("{KEY}: tier {tier:?} is listed twice")));
        }
    }
    Ok(out)
}
