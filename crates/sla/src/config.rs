//! The policy file: TOML text → a validated [`PolicySet`], or an error naming what is wrong.
//!
//! The service reads the file once at start and refuses to run on a bad one, so every mistake
//! must be caught here and named precisely: the policy id (or `policy #n` before an id is
//! known) and the field, e.g. ``policy `mql-follow-up`: at_risk_share: must be in (0, 1]``.
//! Keys are checked one by one rather than through a derived deserializer for that reason.
//! The format is described for sales-ops readers in `docs/SLA.md`.
//!
//! # Layout
//! - [`PolicyError`]: what can be wrong.
//! - [`PolicySet::from_toml`]: the entry point; sections are read by `calendar`,
//!   `feedback` and `policy` helpers over a small key reader (`Keys`); the `[routing]`
//!   section by the `routing_section` submodule.

mod escalation_section;
mod routing_section;

use std::collections::{BTreeSet, HashSet};

use chrono::NaiveDate;
use chrono_tz::Tz;
use leadledger_domain::event::Segment;
use leadledger_domain::Stage;
use toml::{Table, Value};

use crate::calendar::{BusinessCalendar, CalendarError, CalendarSpec, WorkInterval, WEEKDAY_KEYS};
use crate::feedback::{FeedbackField, FeedbackRequirements};
use crate::kind::EventKind;
use crate::policy::{
    parse_allowance, PolicySet, Scope, SlaPolicy, Trigger, DEFAULT_AT_RISK_SHARE, FILE_VERSION,
};

/// Why a policy file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy file is not valid TOML: {0}")]
    Syntax(String),
    #[error(
        "policy file: `version` is required at the top (this build reads version {FILE_VERSION})"
    )]
    MissingVersion,
    #[error("policy file: version {0} is not supported (this build reads version {FILE_VERSION})")]
    UnsupportedVersion(String),
    /// A setting outside any policy: `calendar.time_zone`, `feedback.sql[2]`, …
    #[error("policy file: {field}: {message}")]
    File { field: String, message: String },
    /// A setting of one policy.
    #[error("policy `{policy}`: {field}: {message}")]
    Policy {
        policy: String,
        field: String,
        message: String,
    },
}

impl From<CalendarError> for PolicyError {
    fn from(e: CalendarError) -> Self {
        PolicyError::File {
            field: e.field,
            message: e.message,
        }
    }
}

const TOP_KEYS: &[&str] = &["version", "calendar", "feedback", "policy", "routing"];
const CALENDAR_KEYS: &[&str] = &[
    "time_zone",
    "hours",
    "holidays",
    "makeup_workdays",
    "makeup_hours",
];
const POLICY_KEYS: &[&str] = &[
    "id",
    "version",
    "name",
    "start",
    "target",
    "allowance",
    "business_time",
    "at_risk_share",
    "segments",
    "regions",
    "channels",
    "stop_on",
    "escalation",
];

impl PolicySet {
    /// Parses and validates a policy file. The file replaces the defaults entirely: list every
    /// policy the tenant wants (an empty list switches SLA clocks off).
    pub fn from_toml(text: &str) -> Result<PolicySet, PolicyError> {
        let top: Table = toml::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
        match top.get("version") {
            None => return Err(PolicyError::MissingVersion),
            Some(Value::Integer(FILE_VERSION)) => {}
            Some(v) => return Err(PolicyError::UnsupportedVersion(v.to_string())),
        }
        let keys = Keys::file("", &top);
        keys.only(TOP_KEYS)?;

        let mut policies = Vec::new();
        match top.get("policy") {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let Value::Table(t) = item else {
                        return Err(keys.err(&format!("policy[{i}]"), "must be a [[policy]] table"));
                    };
                    policies.push(policy(i, t)?);
                }
            }
            Some(_) => return Err(keys.err("policy", "must be written as [[policy]] tables")),
        }
        let mut seen = HashSet::new();
        for p in &policies {
            if !seen.insert(p.id.as_str()) {
                return Err(policy_err(&p.id, "id", "is used by another policy"));
            }
        }

        let calendar = match keys.table("calendar")? {
            Some(t) => calendar(t)?,
            None => {
                if let Some(p) = policies.iter().find(|p| p.business_time) {
                    return Err(keys.err(
                        "calendar",
                        format!(
                            "required because policy `{}` counts business time; set at least \
                             `time_zone`",
                            p.id
                        ),
                    ));
                }
                BusinessCalendar::standard(Tz::UTC)
            }
        };
        for p in policies.iter().filter(|p| p.business_time) {
            check_business_allowance(p, &calendar)?;
        }
        let feedback = match keys.table("feedback")? {
            Some(t) => feedback(t)?,
            None => FeedbackRequirements::default(),
        };
        let routing = match keys.table("routing")? {
            Some(t) => Some(routing_section::routing(t)?),
            None => None,
        };
        if routing.is_none() {
            for p in &policies {
                let next_rep = p
                    .escalation
                    .iter()
                    .find(|s| s.reassign == Some(crate::escalation::Reassign::NextRep));
                if let Some(s) = next_rep {
                    return Err(policy_err(
                        &p.id,
                        &format!("escalation `{}`.reassign", s.id),
                        "`next_rep` routes by the [routing] section, which this file has not",
                    ));
                }
            }
        }
        Ok(PolicySet {
            version: FILE_VERSION,
            calendar,
            policies,
            feedback,
            routing,
        })
    }
}

/// The longest a business-time allowance may take on its calendar, in weeks (about five
/// years): beyond it a due time is no deadline, and computing one would walk the calendar
/// day by day for as long (a `SlaWhatIf` candidate is validated like the file).
pub const MAX_BUSINESS_WEEKS: i64 = 5 * 52;

/// Refuses a business-time allowance that needs more than [`MAX_BUSINESS_WEEKS`] of the
/// calendar's weekly working time (holidays and make-up days aside).
fn check_business_allowance(p: &SlaPolicy, cal: &BusinessCalendar) -> Result<(), PolicyError> {
    let weekly: i64 = (0..7)
        .flat_map(|d| cal.weekday_hours(d).iter())
        .map(|i| i.len().num_seconds())
        .sum();
    // The last escalation step reaches furthest (steps are sorted by instant).
    let needed = p
        .escalation
        .last()
        .map_or(p.allowance, |s| p.step_offset(s).max(p.allowance))
        .num_seconds();
    if weekly > 0 && needed <= weekly * MAX_BUSINESS_WEEKS {
        return Ok(());
    }
    Err(policy_err(
        &p.id,
        "allowance",
        format!(
            "{} of working time{} takes more than {} years of this calendar ({} of working \
             time a week)",
            crate::policy::format_allowance(chrono::Duration::seconds(needed)),
            if needed > p.allowance.num_seconds() {
                " (to its last escalation step)"
            } else {
                ""
            },
            MAX_BUSINESS_WEEKS / 52,
            crate::policy::format_allowance(chrono::Duration::seconds(weekly)),
        ),
    ))
}

fn policy_err(policy: &str, field: &str, message: impl Into<String>) -> PolicyError {
    PolicyError::Policy {
        policy: policy.into(),
        field: field.into(),
        message: message.into(),
    }
}

fn policy(index: usize, t: &Table) -> Result<SlaPolicy, PolicyError> {
    // Name errors by id as soon as there is a usable one.
    let label = match t.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => format!("#{}", index + 1),
    };
    let k = Keys::policy(&label, t);
    k.only(POLICY_KEYS)?;
    let id = k.string("id")?.ok_or_else(|| k.err("id", "required"))?;
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(k.err("id", "must be 1..64 characters of A-Z a-z 0-9 _ . -"));
    }
    let version = match k.int("version")? {
        None => 1,
        Some(v) if (1..=i64::from(u32::MAX)).contains(&v) => v as u32,
        Some(v) => return Err(k.err("version", format!("{v} is not a positive integer"))),
    };
    let name = k.string("name")?.unwrap_or_else(|| id.clone());
    let start = k
        .kinds("start")?
        .ok_or_else(|| k.err("start", "required"))?;
    let target = k
        .kinds("target")?
        .ok_or_else(|| k.err("target", "required"))?;
    let stop_on = k
        .kinds("stop_on")?
        .unwrap_or_else(|| vec![EventKind::Recycled, EventKind::Disqualified]);
    for (field, list) in [("start", &start), ("target", &target)] {
        if list.is_empty() {
            return Err(k.err(field, "needs at least one event kind"));
        }
    }
    for (a, b, la, lb) in [
        ("start", "target", &start, &target),
        ("target", "stop_on", &target, &stop_on),
        ("start", "stop_on", &start, &stop_on),
    ] {
        if let Some(x) = la.iter().find(|x| lb.contains(x)) {
            return Err(k.err(b, format!("`{}` is also in `{a}`", x.as_str())));
        }
    }
    let business_time = k.boolean("business_time")?.ok_or_else(|| {
        k.err(
            "business_time",
            "required: true counts only the calendar's working time, false counts elapsed time",
        )
    })?;
    let text = k
        .string("allowance")?
        .ok_or_else(|| k.err("allowance", "required, e.g. \"24h\" or \"30d\""))?;
    let allowance = parse_allowance(&text).map_err(|m| k.err("allowance", m))?;
    if business_time && text.contains('d') {
        return Err(k.err(
            "allowance",
            format!(
                "`{text}`: use hours with business_time = true (a business day's length depends \
                 on the calendar, so `d` would mean 24 working hours)"
            ),
        ));
    }
    let at_risk_share = match k.float("at_risk_share")? {
        None => DEFAULT_AT_RISK_SHARE,
        Some(s) if s > 0.0 && s <= 1.0 => s,
        Some(s) => return Err(k.err("at_risk_share", format!("{s} must be in (0, 1]"))),
    };
    let scope = Scope {
        segments: k.segments("segments")?,
        regions: k.strings("regions")?.unwrap_or_default(),
        channels: k.strings("channels")?.unwrap_or_default(),
    };
    let policy = SlaPolicy {
        id: id.clone(),
        version,
        name,
        start: Trigger { kinds: start },
        target: Trigger { kinds: target },
        allowance,
        business_time,
        at_risk_share,
        scope,
        stop_on,
        escalation: escalation_section::steps(&id, business_time, t.get("escalation"))?,
    };
    let mut policy = policy;
    escalation_section::order(&mut policy)?;
    Ok(policy)
}

fn calendar(t: &Table) -> Result<BusinessCalendar, PolicyError> {
    let k = Keys::file("calendar", t);
    k.only(CALENDAR_KEYS)?;
    let zone = k
        .string("time_zone")?
        .ok_or_else(|| k.err("time_zone", "required, an IANA name like \"Asia/Shanghai\""))?;
    let tz: Tz = zone.parse().map_err(|_| {
        k.err(
            "time_zone",
            format!("`{zone}` is not an IANA time zone name (e.g. \"Asia/Shanghai\")"),
        )
    })?;
    let mut spec = CalendarSpec::standard(tz);
    if let Some(hours) = k.table("hours")? {
        let hk = Keys::file("calendar.hours", hours);
        hk.only(&WEEKDAY_KEYS)?;
        for (i, day) in WEEKDAY_KEYS.iter().enumerate() {
            spec.week[i] = hk.intervals(day)?.unwrap_or_default();
        }
    }
    spec.holidays = k.dates("holidays")?;
    spec.makeup_days = k.dates("makeup_workdays")?;
    spec.makeup_hours = k.intervals("makeup_hours")?;
    Ok(spec.build()?)
}

fn feedback(t: &Table) -> Result<FeedbackRequirements, PolicyError> {
    let k = Keys::file("feedback", t);
    let names: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
    k.only(&names)?;
    let mut req = FeedbackRequirements::none();
    for stage in Stage::ALL {
        let Some(list) = k.strings(stage.as_str())? else {
            continue;
        };
        let fields = list
            .iter()
            .enumerate()
            .map(|(i, f)| {
                FeedbackField::parse(f).ok_or_else(|| {
                    k.err(
                        &format!("{}[{i}]", stage.as_str()),
                        format!("`{f}` is not a feedback field ({})", field_names()),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        req = req.with(stage, fields);
    }
    Ok(req)
}

fn field_names() -> String {
    FeedbackField::ALL.map(FeedbackField::as_str).join(", ")
}

/// Reads keys of one table, naming errors by policy or by section path.
struct Keys<'a> {
    policy: Option<String>,
    prefix: &'a str,
    t: &'a Table,
}

impl<'a> Keys<'a> {
    fn file(prefix: &'a str, t: &'a Table) -> Self {
        Keys {
            policy: None,
            prefix,
            t,
        }
    }

    fn policy(id: &str, t: &'a Table) -> Self {
        Keys {
            policy: Some(id.to_string()),
            prefix: "",
            t,
        }
    }

    /// A part of policy `id` (an escalation step): fields are named `<prefix>.<field>`.
    fn policy_part(id: &str, prefix: &'a str, t: &'a Table) -> Self {
        Keys {
            policy: Some(id.to_string()),
            prefix,
            t,
        }
    }

    fn err(&self, field: &str, message: impl Into<String>) -> PolicyError {
        match &self.policy {
            Some(p) if self.prefix.is_empty() => policy_err(p, field, message),
            Some(p) => policy_err(p, &format!("{}.{field}", self.prefix), message),
            None if self.prefix.is_empty() => PolicyError::File {
                field: field.into(),
                message: message.into(),
            },
            None => PolicyError::File {
                field: format!("{}.{field}", self.prefix),
                message: message.into(),
            },
        }
    }

    fn only(&self, allowed: &[&str]) -> Result<(), PolicyError> {
        match self.t.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.err(
                k,
                format!("unknown key (expected one of: {})", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }

    fn typed<T>(
        &self,
        key: &str,
        want: &str,
        f: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<Option<T>, PolicyError> {
        let t: &'a Table = self.t;
        match t.get(key) {
            None => Ok(None),
            Some(v) => f(v)
                .map(Some)
                .ok_or_else(|| self.err(key, format!("expected {want}, found {}", v.type_str()))),
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>, PolicyError> {
        self.typed(key, "a string", |v| {
            v.as_str().map(|s| s.trim().to_string())
        })
    }

    fn int(&self, key: &str) -> Result<Option<i64>, PolicyError> {
        self.typed(key, "an integer", Value::as_integer)
    }

    fn float(&self, key: &str) -> Result<Option<f64>, PolicyError> {
        self.typed(key, "a number", |v| {
            v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
        })
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, PolicyError> {
        self.typed(key, "true or false", Value::as_bool)
    }

    fn table(&self, key: &str) -> Result<Option<&'a Table>, PolicyError> {
        let t: &'a Table = self.t;
        match t.get(key) {
            None => Ok(None),
            Some(Value::Table(x)) => Ok(Some(x)),
            Some(v) => Err(self.err(key, format!("expected a table, found {}", v.type_str()))),
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, PolicyError> {
        let Some(arr) = self.typed(key, "an array of strings", Value::as_array)? else {
            return Ok(None);
        };
        arr.iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(|s| s.trim().to_string()).ok_or_else(|| {
                    self.err(
                        &format!("{key}[{i}]"),
                        format!("expected a string, found {}", v.type_str()),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// `["KA", "SMB"]`, any case; absent: empty (any segment).
    fn segments(&self, key: &str) -> Result<Vec<Segment>, PolicyError> {
        self.strings(key)?
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, s)| match s.to_ascii_uppercase().as_str() {
                "KA" => Ok(Segment::Ka),
                "SMB" => Ok(Segment::Smb),
                _ => Err(self.err(&format!("{key}[{i}]"), format!("`{s}` is not KA or SMB"))),
            })
            .collect()
    }

    fn kinds(&self, key: &str) -> Result<Option<Vec<EventKind>>, PolicyError> {
        let Some(list) = self.strings(key)? else {
            return Ok(None);
        };
        let mut out: Vec<EventKind> = Vec::new();
        for (i, s) in list.iter().enumerate() {
            let kind = EventKind::parse(s).ok_or_else(|| {
                let names = EventKind::ALL.map(EventKind::as_str).join(", ");
                self.err(
                    &format!("{key}[{i}]"),
                    format!("`{s}` is not an event kind ({names})"),
                )
            })?;
            if !out.contains(&kind) {
                out.push(kind);
            }
        }
        Ok(Some(out))
    }

    fn intervals(&self, key: &str) -> Result<Option<Vec<WorkInterval>>, PolicyError> {
        let Some(list) = self.strings(key)? else {
            return Ok(None);
        };
        list.iter()
            .enumerate()
            .map(|(i, s)| WorkInterval::parse(s).map_err(|m| self.err(&format!("{key}[{i}]"), m)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Dates as TOML local dates (`2025-10-01`) or strings (`"2025-10-01"`).
    fn dates(&self, key: &str) -> Result<BTreeSet<NaiveDate>, PolicyError> {
        let Some(arr) = self.typed(key, "an array of dates", Value::as_array)? else {
            return Ok(BTreeSet::new());
        };
        let mut out = BTreeSet::new();
        for (i, v) in arr.iter().enumerate() {
            let date = match v {
                Value::String(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok(),
                Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => {
                    d.date.and_then(|d| {
                        NaiveDate::from_ymd_opt(i32::from(d.year), d.month.into(), d.day.into())
                    })
                }
                _ => None,
            };
            let date = date.ok_or_else(|| {
                self.err(
                    &format!("{key}[{i}]"),
                    format!("`{v}` is not a date like 2025-10-01"),
                )
            })?;
            out.insert(date);
        }
        Ok(out)
    }
}
