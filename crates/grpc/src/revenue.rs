//! `QueryService.RevenueEquation`: leads × lead → SQL × win rate × average deal size ×
//! collection ratio = collected revenue, per group of capture cohorts, in one currency
//! (definitions: docs/ANALYTICS.md, "Revenue equation"). Read from the funnel cells, as
//! `Funnel` is; the factors are `leadledger_analytics::revenue`'s.

use chrono::{DateTime, Utc};
use leadledger_analytics::revenue::{self, Ratio, Totals};
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::Violations;
use leadledger_store::leads::{self, Dimension, FunnelRow};
use tonic::{Request, Response, Status};

use crate::context::ReadContext;
use crate::measures;

/// The request as the store takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub group_by: Vec<Dimension>,
    pub captured_from: Option<DateTime<Utc>>,
    pub captured_to: Option<DateTime<Utc>>,
    /// Empty: the tenant's main currency.
    pub currency: String,
}

/// The request, with every field violation at once.
pub fn parse(r: &pb::RevenueEquationRequest) -> Result<Parsed, ApiError> {
    let mut v = Violations::default();
    let group_by = measures::dimensions(&mut v, &r.group_by, measures::funnel_dimension);
    let (captured_from, captured_to) = measures::range(
        &mut v,
        ("captured_from", "captured_to"),
        r.captured_from.as_ref(),
        r.captured_to.as_ref(),
    );
    if !r.currency.is_empty() && !leadledger_domain::validate::is_currency(&r.currency) {
        v.add(
            "currency",
            "must be an ISO 4217 code such as CNY, USD or EUR",
        );
    }
    if !v.is_empty() {
        return Err(ApiError::invalid(v));
    }
    Ok(Parsed {
        group_by,
        captured_from,
        captured_to,
        currency: r.currency.clone(),
    })
}

fn ratio(r: Ratio) -> Option<pb::Ratio> {
    Some(pb::Ratio {
        numerator: r.numerator,
        denominator: r.denominator,
        value: r.value(),
    })
}

/// One funnel group's equation in `currency`.
pub fn group(row: FunnelRow, currency: &str) -> pb::RevenueEquationGroup {
    let mut totals = Totals {
        leads: row.reached[0],
        sql: row.reached[2],
        ..Totals::default()
    };
    let mut won_other_currency = 0;
    for s in &row.signed {
        if s.currency == currency {
            totals.won = s.won;
            totals.signed = s.amount;
            totals.collected = s.collected;
        } else {
            won_other_currency += s.won;
        }
    }
    let e = revenue::equation(&totals);
    pb::RevenueEquationGroup {
        key: row.key,
        leads: totals.leads,
        sql: totals.sql,
        won: totals.won,
        signed_amount_minor: totals.signed,
        collected_amount_minor: totals.collected,
        lead_conversion: ratio(e.lead_conversion),
        win_rate: ratio(e.win_rate),
        average_deal_minor: ratio(e.average_deal),
        collection_ratio: ratio(e.collection_ratio),
        won_other_currency,
    }
}

/// Serves one `RevenueEquation` call.
pub async fn serve(
    ctx: &ReadContext,
    request: Request<pb::RevenueEquationRequest>,
) -> Result<Response<pb::RevenueEquationResponse>, Status> {
    let r = request.get_ref();
    let (tenant, q) = measures::admit(ctx, &request, &r.tenant_id, &r.consistency_token, || {
        parse(r)
    })
    .await?;
    let pool = &ctx.store().pool;
    let currency = if q.currency.is_empty() {
        // Nothing signed yet: the equation is all zeros, in no currency.
        leads::main_currency(pool, &tenant)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default()
    } else {
        q.currency
    };
    let rows = leads::funnel(pool, &tenant, &q.group_by, q.captured_from, q.captured_to)
        .await
        .map_err(ApiError::from)?;
    Ok(Response::new(pb::RevenueEquationResponse {
        group_by: r.group_by.clone(),
        groups: rows.into_iter().map(|row| group(row, &currency)).collect(),
        currency,
    }))
}
