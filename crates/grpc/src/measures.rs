//! What the measures computed on request (`Velocity`, `Cohorts`) do alike: admit the call
//! in one order, parse the group dimensions, the capture range and the instant (each bad
//! field a violation of its own).

use chrono::{DateTime, Utc};
use leadledger_api::convert::time_from_proto;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::Violations;
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

/// The leads a measure reads: `group_by` (`group_by[i]` violations), the capture range
/// (`captured_to` must be after `captured_from`).
pub fn leads(
    v: &mut Violations,
    group_by: &[i32],
    captured_from: Option<&prost_types::Timestamp>,
    captured_to: Option<&prost_types::Timestamp>,
) -> StaysQuery {
    let mut dims = Vec::new();
    for (i, d) in group_by.iter().enumerate() {
        match dimension(*d) {
            Some(dim) => dims.push(dim),
            None => v.add(format!("group_by[{i}]"), format!("unknown dimension {d}")),
        }
    }
    let captured_from = time(v, "captured_from", captured_from);
    let captured_to = time(v, "captured_to", captured_to);
    if let (Some(from), Some(to)) = (captured_from, captured_to) {
        if to <= from {
            v.add("captured_to", "must be after captured_from");
        }
    }
    StaysQuery {
        group_by: dims,
        captured_from,
        captured_to,
    }
}
