//! What the measures (`Velocity`, `Cohorts`, `Reasons`, `RevenueEquation`) do alike: admit
//! the call in one order, parse the group dimensions, a time range and the instant (each bad
//! field a violation of its own), and the cut of the log they are asked at.

use chrono::{DateTime, TimeDelta, Utc};
use leadledger_api::convert::time_from_proto;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::account::Scope;
use leadledger_domain::{Cut, Stage, Violations};
use leadledger_store::leads::Dimension;
use leadledger_store::stays::{LeadDimension, StaysQuery};
use tonic::Request;

use crate::context::ReadContext;
use crate::tenant;

/// Admits a measure's call: the tenant first (a refused caller learns nothing of the
/// parameters), then the parameters (`parse`: a bad request never waits), then the wait for
/// the consistency token. Returns the tenant and what `parse` made.
pub async fn admit<T, P>(
    ctx: &ReadContext,
    request: &Request<T>,
    tenant_id: &str,
    token: &str,
    parse: impl FnOnce() -> Result<P, ApiError>,
) -> Result<(String, P), ApiError> {
    let tenant = tenant::resolve(request, tenant_id)?;
    let parsed = parse()?;
    ctx.wait_for(request, &tenant, token).await?;
    Ok((tenant, parsed))
}

/// A `FunnelDimension` (`Funnel`, `RevenueEquation`); `None` for an unknown or unspecified
/// one.
pub fn funnel_dimension(d: i32) -> Option<Dimension> {
    use pb::FunnelDimension as P;
    Some(match P::try_from(d).ok()? {
        P::Unspecified => return None,
        P::Channel => Dimension::Channel,
        P::Campaign => Dimension::Campaign,
        P::Region => Dimension::Region,
        P::Industry => Dimension::Industry,
        P::Segment => Dimension::Segment,
        P::CaptureMonth => Dimension::CaptureMonth,
    })
}

/// An `AccountScope` (unspecified: all contacts); a violation of `account_scope` for an
/// unknown number.
pub fn account_scope(v: &mut Violations, n: i32) -> Option<Scope> {
    use pb::AccountScope as P;
    Some(match P::try_from(n) {
        Ok(P::Unspecified | P::AllContacts) => Scope::AllContacts,
        Ok(P::Committee) => Scope::Committee,
        Ok(P::PrimaryContact) => Scope::PrimaryContact,
        Err(_) => {
            v.add("account_scope", format!("unknown value {n}"));
            return None;
        }
    })
}

/// The proto number of a scope.
pub fn account_scope_to_proto(s: Scope) -> i32 {
    use pb::AccountScope as P;
    match s {
        Scope::AllContacts => P::AllContacts,
        Scope::Committee => P::Committee,
        Scope::PrimaryContact => P::PrimaryContact,
    }
    .into()
}

fn dimension(d: i32) -> Option<LeadDimension> {
    use pb::LeadDimension as P;
    use LeadDimension::Funnel;
    Some(match P::try_from(d).ok()? {
        P::Unspecified => return None,
        P::Channel => Funnel(Dimension::Channel),
        P::Campaign => Funnel(Dimension::Campaign),
        P::Region => Funnel(Dimension::Region),
        P::Industry => Funnel(Dimension::Industry),
        P::Segment => Funnel(Dimension::Segment),
        P::CaptureMonth => Funnel(Dimension::CaptureMonth),
        P::CaptureWeek => LeadDimension::CaptureWeek,
        P::OwnerRep => LeadDimension::OwnerRep,
        P::OwnerTeam => LeadDimension::OwnerTeam,
    })
}

/// An optional timestamp; a violation of `field` when it is not a valid one.
pub fn time(
    v: &mut Violations,
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    let t = t?;
    let parsed = time_from_proto(t);
    if parsed.is_none() {
        v.add(field, "not a valid timestamp");
    }
    parsed
}

/// An optional positive duration; a violation of `field` when it is not a valid one, not
/// positive, or longer than `max_days`.
pub fn duration(
    v: &mut Violations,
    field: &str,
    d: Option<&prost_types::Duration>,
    max_days: i64,
) -> Option<TimeDelta> {
    let d = d?;
    let same_sign = d.seconds == 0 || d.nanos == 0 || (d.seconds > 0) == (d.nanos > 0);
    let parsed = (d.nanos.abs() < 1_000_000_000 && same_sign)
        .then(|| TimeDelta::new(d.seconds, 0))
        .flatten()
        .and_then(|t| t.checked_add(&TimeDelta::nanoseconds(i64::from(d.nanos))));
    match parsed {
        None => v.add(field, "not a valid duration"),
        Some(t) if t <= TimeDelta::zero() => v.add(field, "must be positive"),
        Some(t) if t > TimeDelta::days(max_days) => {
            v.add(field, format!("at most {max_days} days"))
        }
        Some(t) => return Some(t),
    }
    None
}

/// A main-line stage (captured … signed) given as field `field`'s number; 0 is none, an
/// exit stage or an unknown number a violation.
pub fn main_line(v: &mut Violations, field: &str, n: i32) -> Option<Stage> {
    match n {
        0 => None,
        n => match Stage::from_number(n) {
            Some(s) if !s.is_exit() => Some(s),
            Some(s) => {
                v.add(field, format!("{} is no main-line stage", s.as_str()));
                None
            }
            None => {
                v.add(field, format!("unknown stage {n}"));
                None
            }
        },
    }
}

/// `group_by` read with `dimension`: an unknown or unspecified value is a violation of
/// `group_by[i]`.
pub fn dimensions<D>(
    v: &mut Violations,
    group_by: &[i32],
    dimension: impl Fn(i32) -> Option<D>,
) -> Vec<D> {
    let mut dims = Vec::new();
    for (i, d) in group_by.iter().enumerate() {
        match dimension(*d) {
            Some(dim) => dims.push(dim),
            None => v.add(format!("group_by[{i}]"), format!("unknown dimension {d}")),
        }
    }
    dims
}

/// An optional range `[from, to)` of the fields named `names`: each bound a valid timestamp
/// if given, `to` after `from`.
pub fn range(
    v: &mut Violations,
    names: (&str, &str),
    from: Option<&prost_types::Timestamp>,
    to: Option<&prost_types::Timestamp>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let from = time(v, names.0, from);
    let to = time(v, names.1, to);
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            v.add(names.1, format!("must be after {}", names.0));
        }
    }
    (from, to)
}

/// A request's `as_of` and `known_at` (each a valid timestamp if given): the cut of the log
/// it asks about, live when neither is set.
pub fn cut(
    v: &mut Violations,
    as_of: Option<&prost_types::Timestamp>,
    known_at: Option<&prost_types::Timestamp>,
) -> Cut {
    Cut {
        as_of: time(v, "as_of", as_of),
        known_at: time(v, "known_at", known_at),
    }
}

/// The leads a measure reads: `group_by` (`group_by[i]` violations), the capture range
/// (`captured_to` must be after `captured_from`), at `cut`.
pub fn leads(
    v: &mut Violations,
    group_by: &[i32],
    captured_from: Option<&prost_types::Timestamp>,
    captured_to: Option<&prost_types::Timestamp>,
    cut: Cut,
) -> StaysQuery {
    let group_by = dimensions(v, group_by, dimension);
    let (captured_from, captured_to) = range(
        v,
        ("captured_from", "captured_to"),
        captured_from,
        captured_to,
    );
    StaysQuery {
        group_by,
        captured_from,
        captured_to,
        cut,
    }
}
