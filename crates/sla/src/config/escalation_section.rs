//! A policy's `[[policy.escalation]]` steps → [`EscalationStep`]s, in the order of their
//! instants.
//!
//! ```toml
//! [[policy.escalation]]
//! id = "tell-manager"          # unique in the policy: A-Z a-z 0-9 _ . -
//! on = "at_risk"               # at_risk | breached
//! after = "2h"                 # counted like the allowance; absent: at the threshold
//! notify = ["owner", "manager", "team_lead", "sales-ops"]
//! reassign = "next_rep"        # next_rep | pool; absent: nobody is moved
//! ```
//!
//! Errors name the step by id once it has one (``policy `p`: escalation `tell-manager`.on``),
//! by position before (`escalation[2].id`).

use std::collections::HashSet;

use leadledger_domain::event::EscalationTrigger;
use toml::{Table, Value};

use super::{policy_err, Keys, PolicyError};
use crate::escalation::{EscalationStep, Reassign, Recipient, MAX_STEPS};
use crate::policy::{max_allowance, parse_allowance, SlaPolicy};

const STEP_KEYS: &[&str] = &["id", "on", "after", "notify", "reassign"];

/// The steps of policy `policy` (its `escalation` key, if any), sorted by instant: the
/// threshold's share of the allowance plus `after` (stable for equal instants).
pub(super) fn steps(
    policy: &str,
    business_time: bool,
    value: Option<&Value>,
) -> Result<Vec<EscalationStep>, PolicyError> {
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(policy_err(
                policy,
                "escalation",
                "must be written as [[policy.escalation]] tables",
            ))
        }
    };
    if items.len() > MAX_STEPS {
        return Err(policy_err(
            policy,
            "escalation",
            format!("{} steps; at most {MAX_STEPS}", items.len()),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Table(t) = item else {
            return Err(policy_err(
                policy,
                &format!("escalation[{i}]"),
                "must be a [[policy.escalation]] table",
            ));
        };
        let s = step(policy, business_time, i, t)?;
        if !seen.insert(s.id.clone()) {
            return Err(policy_err(
                policy,
                &format!("escalation `{}`.id", s.id),
                "is used by another step of this policy",
            ));
        }
        out.push(s);
    }
    Ok(out)
}

/// Sorts `p`'s steps by instant and checks their reach against the longest allowance.
pub(super) fn order(p: &mut SlaPolicy) -> Result<(), PolicyError> {
    let mut steps = std::mem::take(&mut p.escalation);
    steps.sort_by_key(|s| p.step_offset(s));
    if let Some(s) = steps.iter().find(|s| p.step_offset(s) > max_allowance()) {
        return Err(policy_err(
            &p.id,
            &format!("escalation `{}`.after", s.id),
            "the threshold plus `after` is longer than 3650 days",
        ));
    }
    p.escalation = steps;
    Ok(())
}

fn step(
    policy: &str,
    business_time: bool,
    index: usize,
    t: &Table,
) -> Result<EscalationStep, PolicyError> {
    let prefix = match t.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => format!("escalation `{}`", s.trim()),
        _ => format!("escalation[{index}]"),
    };
    let k = Keys::policy_part(policy, &prefix, t);
    k.only(STEP_KEYS)?;
    let id = k.string("id")?.ok_or_else(|| k.err("id", "required"))?;
    if id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(k.err("id", "must be 1..64 characters of A-Z a-z 0-9 _ . -"));
    }
    let trigger = match k.string("on")?.as_deref() {
        Some("at_risk") => EscalationTrigger::AtRisk,
        Some("breached") => EscalationTrigger::Breached,
        Some(other) => {
            return Err(k.err(
                "on",
                format!("`{other}` is not a threshold (at_risk, breached)"),
            ))
        }
        None => return Err(k.err("on", "required: at_risk or breached")),
    };
    let after = match k.string("after")? {
        None => chrono::Duration::zero(),
        Some(text) => {
            if business_time && text.contains('d') {
                return Err(k.err(
                    "after",
                    format!(
                        "`{text}`: use hours with business_time = true (counted like the \
                         allowance)"
                    ),
                ));
            }
            parse_allowance(&text).map_err(|m| k.err("after", m))?
        }
    };
    let notify: Vec<Recipient> = k
        .strings("notify")?
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, r)| match r.as_str() {
            "" => Err(k.err(&format!("notify[{i}]"), "must not be blank")),
            r if r.len() > 256 => Err(k.err(&format!("notify[{i}]"), "longer than 256 bytes")),
            r => Ok(Recipient::parse(r)),
        })
        .collect::<Result<_, _>>()?;
    let reassign = match k.string("reassign")?.as_deref() {
        None => None,
        Some("next_rep") => Some(Reassign::NextRep),
        Some("pool") => Some(Reassign::Pool),
        Some(other) => {
            return Err(k.err(
                "reassign",
                format!("`{other}` is not a reassignment (next_rep, pool)"),
            ))
        }
    };
    if notify.is_empty() && reassign.is_none() {
        return Err(k.err(
            "notify",
            "a step must notify someone or reassign the lead (or both)",
        ));
    }
    Ok(EscalationStep {
        id,
        trigger,
        after,
        notify,
        reassign,
    })
}
