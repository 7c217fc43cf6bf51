//! The `[routing]` section of the policy file → [`RoutingSetup`].
//!
//! ```toml
//! [routing]
//! default = { team = "inside-sales" }      # or { queue = ".." } / { partner = ".." }
//!
//! [[routing.rule]]
//! id = "east-ka"
//! regions = ["华东"]                       # regions, industries, segments, channels: any if absent
//! segments = ["KA"]
//! to = { team = "east-ka" }
//!
//! [[routing.rep]]
//! id = "wang.fang"
//! team = "east-ka"
//! cap = 40                                 # most open leads; absent: no cap
//! available = true                         # default true
//! manager = "li.lei"                       # whom an escalation's `manager` tells
//!
//! [[routing.team]]
//! id = "east-ka"
//! lead = "zhao.min"                        # whom an escalation's `team_lead` tells
//! ```
//!
//! Errors name the field with its path, rules and reps by id once they have one
//! (``routing.rule `east-ka`.segments[0]``), by position before (`routing.rule[2].id`).

use std::collections::HashSet;

use toml::{Table, Value};

use super::{Keys, PolicyError};
use crate::routing::{Match, RepConfig, RoutingRules, RoutingSetup, Rule, Target, TeamConfig};

const ROUTING_KEYS: &[&str] = &["default", "rule", "rep", "team"];
const RULE_KEYS: &[&str] = &["id", "regions", "industries", "segments", "channels", "to"];
const REP_KEYS: &[&str] = &["id", "team", "cap", "available", "manager"];
const TEAM_KEYS: &[&str] = &["id", "lead"];
const TARGET_KEYS: &[&str] = &["team", "queue", "partner"];

pub(super) fn routing(t: &Table) -> Result<RoutingSetup, PolicyError> {
    let k = Keys::file("routing", t);
    k.only(ROUTING_KEYS)?;
    let default = match k.table("default")? {
        Some(d) => target("routing.default", d)?,
        None => {
            return Err(k.err(
                "default",
                "required: where leads no rule matches go, e.g. { team = \"inside-sales\" }",
            ))
        }
    };
    let rules = tables(&k, "rule")?
        .into_iter()
        .enumerate()
        .map(|(i, r)| rule(i, r))
        .collect::<Result<Vec<_>, _>>()?;
    let rules = RoutingRules { rules, default };
    rules.validate().map_err(|e| PolicyError::File {
        field: match e.rule.as_str() {
            "default" => "routing.default".to_string(),
            id => format!("routing.rule `{id}`"),
        },
        message: e.message,
    })?;

    let reps = tables(&k, "rep")?
        .into_iter()
        .enumerate()
        .map(|(i, r)| rep(i, r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = HashSet::new();
    for r in &reps {
        if !seen.insert(r.rep_id.as_str()) {
            return Err(PolicyError::File {
                field: format!("routing.rep `{}`.id", r.rep_id),
                message: "is used by another rep".into(),
            });
        }
    }
    let teams = tables(&k, "team")?
        .into_iter()
        .enumerate()
        .map(|(i, t)| team(i, t))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = HashSet::new();
    for t in &teams {
        if !seen.insert(t.id.as_str()) {
            return Err(PolicyError::File {
                field: format!("routing.team `{}`.id", t.id),
                message: "is used by another team".into(),
            });
        }
    }
    Ok(RoutingSetup { rules, reps, teams })
}

/// `[[routing.<key>]]` tables (none when absent).
fn tables<'a>(k: &Keys<'a>, key: &str) -> Result<Vec<&'a Table>, PolicyError> {
    let Some(items) = k.typed(key, &format!("[[routing.{key}]] tables"), Value::as_array)? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_table().ok_or_else(|| {
                k.err(
                    &format!("{key}[{i}]"),
                    format!("must be a [[routing.{key}]] table"),
                )
            })
        })
        .collect()
}

/// `routing.rule `id`` when the table has a usable id, else `routing.rule[n]` (1-based).
fn label(kind: &str, index: usize, t: &Table) -> String {
    match t.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            format!("routing.{kind} `{}`", s.trim())
        }
        _ => format!("routing.{kind}[{}]", index + 1),
    }
}

fn rule(index: usize, t: &Table) -> Result<Rule, PolicyError> {
    let prefix = label("rule", index, t);
    let k = Keys::file(&prefix, t);
    k.only(RULE_KEYS)?;
    let id = k.string("id")?.ok_or_else(|| k.err("id", "required"))?;
    let to = match k.table("to")? {
        Some(to) => target(&format!("{prefix}.to"), to)?,
        None => return Err(k.err("to", "required, e.g. { team = \"east-ka\" }")),
    };
    Ok(Rule {
        id,
        when: Match {
            regions: k.strings("regions")?.unwrap_or_default(),
            industries: k.strings("industries")?.unwrap_or_default(),
            segments: k.segments("segments")?,
            channels: k.strings("channels")?.unwrap_or_default(),
        },
        to,
    })
}

/// `{ team = ".." }`, `{ queue = ".." }` or `{ partner = ".." }`: exactly one, not blank.
fn target(prefix: &str, t: &Table) -> Result<Target, PolicyError> {
    let k = Keys::file(prefix, t);
    k.only(TARGET_KEYS)?;
    let mut found = Vec::new();
    for key in TARGET_KEYS {
        if let Some(name) = k.string(key)? {
            if name.is_empty() {
                return Err(k.err(key, "must name a team, queue or partner"));
            }
            found.push((*key, name));
        }
    }
    match found.len() {
        1 => {}
        0 => {
            return Err(PolicyError::File {
                field: prefix.to_string(),
                message: "needs one of team, queue, partner".into(),
            })
        }
        _ => {
            return Err(PolicyError::File {
                field: prefix.to_string(),
                message: "give only one of team, queue, partner".into(),
            })
        }
    }
    let (key, name) = found.remove(0);
    Ok(match key {
        "team" => Target::Team { team: name },
        "queue" => Target::Queue { queue: name },
        _ => Target::Partner { partner_id: name },
    })
}

fn rep(index: usize, t: &Table) -> Result<RepConfig, PolicyError> {
    let prefix = label("rep", index, t);
    let k = Keys::file(&prefix, t);
    k.only(REP_KEYS)?;
    let rep_id = k.string("id")?.ok_or_else(|| k.err("id", "required"))?;
    if rep_id.is_empty() {
        return Err(k.err("id", "must not be blank"));
    }
    let team = k.string("team")?.unwrap_or_default();
    if team.is_empty() {
        return Err(k.err("team", "required: the team whose rotation the rep is in"));
    }
    let cap = match k.int("cap")? {
        None => None,
        Some(c) if (0..=i64::from(u32::MAX)).contains(&c) => Some(c as u32),
        Some(c) => {
            return Err(k.err(
                "cap",
                format!("{c} is not a number of open leads (0 or more)"),
            ))
        }
    };
    Ok(RepConfig {
        rep_id,
        team,
        cap,
        available: k.boolean("available")?.unwrap_or(true),
        manager: k.string("manager")?.unwrap_or_default(),
    })
}

fn team(index: usize, t: &Table) -> Result<TeamConfig, PolicyError> {
    let prefix = label("team", index, t);
    let k = Keys::file(&prefix, t);
    k.only(TEAM_KEYS)?;
    let id = k.string("id")?.unwrap_or_default();
    if id.is_empty() {
        return Err(k.err("id", "required"));
    }
    let lead = k.string("lead")?.unwrap_or_default();
    if lead.is_empty() {
        return Err(k.err("lead", "required: whom an escalation's `team_lead` tells"));
    }
    Ok(TeamConfig { id, lead })
}
