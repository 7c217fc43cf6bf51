//! `AttributionService.Roi`: spend against what it bought and returned, per channel or
//! campaign, for the leads captured in a period (definitions: docs/ANALYTICS.md, "ROI").
//!
//! Four reads, each an existing one: the model's revenue credits (`Attribution`, capture
//! basis, so they are the credits of the same leads), the funnel cells of the period, the
//! spend statements overlapping it (prorated by `Spend::prorated`), and the capture →
//! signed turnover of the period's won leads. The ratios are
//! `leadledger_analytics::roi`'s.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use leadledger_analytics::roi::{self, Inputs};
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::{Cut, Violations};
use leadledger_store::cut as at_cut;
use leadledger_store::leads::{self, Dimension};
use leadledger_store::spend;
use tonic::Request;

use super::request::{currency_or_default, day};
use super::AttributionSvc;

/// The model crediting revenue when the request names none.
pub const DEFAULT_MODEL: &str = "linear";

const DAY: f64 = 86_400.0;

/// The request, checked: the grouping (by campaign?), the period's days, the currency.
struct Parsed {
    by_campaign: bool,
    from: NaiveDate,
    to: NaiveDate,
    currency: String,
    cut: Cut,
}

fn parse(r: &pb::RoiRequest) -> Result<Parsed, ApiError> {
    let mut v = Violations::default();
    let by_campaign = match pb::GroupBy::try_from(r.group_by) {
        Ok(pb::GroupBy::Unspecified | pb::GroupBy::Channel) => false,
        Ok(pb::GroupBy::Campaign) => true,
        _ => {
            v.add(
                "group_by",
                "CHANNEL or CAMPAIGN: spend is recorded per channel and campaign",
            );
            false
        }
    };
    let mut bound = |field: &str, t: Option<&prost_types::Timestamp>| match day(field, t) {
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            v.add(field, "required");
            None
        }
        Err(_) => {
            v.add(field, "not a valid timestamp");
            None
        }
    };
    let from = bound("period_from", r.period_from.as_ref());
    let to = bound("period_to", r.period_to.as_ref());
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            v.add("period_to", "must be a day after period_from");
        }
    }
    let currency = match currency_or_default(&r.currency) {
        Ok(c) => c,
        Err(_) => {
            v.add(
                "currency",
                "must be an ISO 4217 code such as CNY, USD or EUR",
            );
            String::new()
        }
    };
    let cut = crate::measures::cut(&mut v, r.as_of.as_ref(), r.known_at.as_ref());
    match (from, to) {
        (Some(from), Some(to)) if v.is_empty() => Ok(Parsed {
            by_campaign,
            from,
            to,
            currency,
            cut,
        }),
        _ => Err(ApiError::invalid(v)),
    }
}

/// What one group adds up to.
#[derive(Default)]
struct Acc {
    inputs: Inputs,
    turnover: Option<(f64, f64)>,
}

impl AttributionSvc {
    /// One `Roi` call.
    pub(super) async fn roi_answer(
        &self,
        request: &Request<pb::RoiRequest>,
    ) -> Result<pb::RoiResponse, ApiError> {
        let r = request.get_ref();
        let tenant = crate::tenant::resolve(request, &r.tenant_id)?;
        let p = parse(r)?;
        let model = if r.model.is_empty() {
            DEFAULT_MODEL.to_string()
        } else {
            r.model.clone()
        };
        let group_by = if p.by_campaign {
            pb::GroupBy::Campaign
        } else {
            pb::GroupBy::Channel
        };
        // The revenue of the period's leads, as the model credits it (this also waits for
        // the consistency token).
        let credited = self
            .answer(
                request,
                &tenant,
                pb::AttributionRequest {
                    tenant_id: tenant.clone(),
                    model: model.clone(),
                    conversion: pb::ConversionKind::Revenue as i32,
                    group_by: group_by as i32,
                    period_basis: pb::PeriodBasis::Captured as i32,
                    period_from: r.period_from,
                    period_to: r.period_to,
                    currency: p.currency.clone(),
                    consistency_token: r.consistency_token.clone(),
                    ..Default::default()
                },
                &p.cut,
            )
            .await?;
        let pool = &self.query.store().pool;
        let (from, to) = (
            p.from.and_time(chrono::NaiveTime::MIN).and_utc(),
            p.to.and_time(chrono::NaiveTime::MIN).and_utc(),
        );
        let dim = if p.by_campaign {
            Dimension::Campaign
        } else {
            Dimension::Channel
        };
        let (cut, cur) = (&p.cut, p.currency.as_str());
        let (cells, statements, turnover) = if cut.is_live() {
            (
                leads::funnel(pool, &tenant, &[dim], Some(from), Some(to)).await,
                spend::overlapping(pool, &tenant, cur, p.from, p.to).await,
                spend::turnover(pool, &tenant, p.by_campaign, cur, from, to).await,
            )
        } else {
            (
                at_cut::funnel(pool, &tenant, &[dim], Some(from), Some(to), cut).await,
                at_cut::spend::overlapping(pool, &tenant, cut, cur, p.from, p.to).await,
                at_cut::spend::turnover(pool, &tenant, cut, p.by_campaign, cur, from, to).await,
            )
        };
        let (cells, statements, turnover) = (
            cells.map_err(ApiError::from)?,
            statements.map_err(ApiError::from)?,
            turnover.map_err(ApiError::from)?,
        );

        let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
        for s in &statements {
            let value = if p.by_campaign {
                &s.campaign
            } else {
                &s.channel
            };
            groups.entry(value.clone()).or_default().inputs.spend += s.prorated(p.from, p.to);
        }
        for row in cells {
            let acc = groups
                .entry(row.key.into_iter().next().unwrap_or_default())
                .or_default();
            acc.inputs.leads = row.reached[0];
            acc.inputs.mql = row.reached[1];
            acc.inputs.sql = row.reached[2];
            acc.inputs.won = row
                .signed
                .iter()
                .find(|t| t.currency == p.currency)
                .map_or(0, |t| t.won);
        }
        for g in &credited.groups {
            groups.entry(g.value.clone()).or_default().inputs.revenue = g.credit;
        }
        for t in turnover {
            groups.entry(t.value).or_default().turnover =
                Some((t.p50_seconds / DAY, t.p90_seconds / DAY));
        }
        let mut out: Vec<pb::RoiGroup> = groups
            .into_iter()
            .filter(|(_, a)| a.inputs != Inputs::default())
            .map(|(value, a)| {
                let f = roi::figures(&a.inputs);
                let i = a.inputs;
                pb::RoiGroup {
                    value,
                    spend_minor: i.spend,
                    leads: i.leads,
                    mql: i.mql,
                    sql: i.sql,
                    won: i.won,
                    revenue_minor: i.revenue,
                    cost_per_lead_minor: f.cost_per_lead,
                    cost_per_mql_minor: f.cost_per_mql,
                    cost_per_sql_minor: f.cost_per_sql,
                    cac_minor: f.cac,
                    roi: f.roi,
                    roas: f.roas,
                    turnover_p50_days: a.turnover.map(|t| t.0),
                    turnover_p90_days: a.turnover.map(|t| t.1),
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.spend_minor
                .cmp(&a.spend_minor)
                .then_with(|| a.value.cmp(&b.value))
        });
        Ok(pb::RoiResponse {
            group_by: group_by as i32,
            model,
            currency: p.currency,
            spend_minor: out.iter().map(|g| g.spend_minor).sum(),
            revenue_minor: out.iter().map(|g| g.revenue_minor).sum(),
            groups: out,
        })
    }
}
