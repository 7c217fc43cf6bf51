//! The attribution service: credits conversions to channels under several models side by
//! side, computed on request from the timeline read model with the pure
//! `leadledger-attribution` crate (same events, same rules as docs/ATTRIBUTION.md).
//!
//! This first version computes per request; precomputed credits (and their BI view) are the
//! next step for large tenants.

use std::collections::BTreeMap;

use leadledger_api::convert::time_from_proto;
use leadledger_api::pb::{self, attribution_service_server::AttributionService};
use leadledger_api::ApiError;
use leadledger_attribution::{
    self as attr, markov, shapley, Attribution, ConversionKind, Journey, Level, Model,
};
use leadledger_store::queries;
use tonic::{Request, Response, Status};

use crate::query::Query;

/// Highest Markov order accepted.
pub const MAX_ORDER: u32 = 4;

/// The attribution gRPC service (shares the query service's store and consistency waits).
#[derive(Clone)]
pub struct AttributionSvc {
    query: Query,
}

impl AttributionSvc {
    pub fn new(query: Query) -> Self {
        Self { query }
    }

    async fn journeys(
        &self,
        tenant: &str,
        from: Option<&prost_types::Timestamp>,
        to: Option<&prost_types::Timestamp>,
    ) -> Result<Vec<Journey>, ApiError> {
        let time = |field: &str, t: Option<&prost_types::Timestamp>| {
            t.map(|t| {
                time_from_proto(t)
                    .ok_or_else(|| ApiError::invalid_field(field, "not a valid timestamp"))
            })
            .transpose()
        };
        let (from, to) = (time("captured_from", from)?, time("captured_to", to)?);
        let events = queries::tenant_events(&self.query.store().pool, tenant, from, to)
            .await
            .map_err(crate::query::db_error)?;
        tokio::task::spawn_blocking(move || attr::journeys(&events))
            .await
            .map_err(|e| ApiError::Internal(format!("attribution task: {e}")))
    }
}

fn conversion(n: i32) -> Result<ConversionKind, ApiError> {
    Ok(match pb::ConversionKind::try_from(n) {
        Ok(pb::ConversionKind::Mql) => ConversionKind::Mql,
        Ok(pb::ConversionKind::Sql) => ConversionKind::Sql,
        Ok(pb::ConversionKind::Poc) => ConversionKind::Poc,
        Ok(pb::ConversionKind::Signed) => ConversionKind::Signed,
        Ok(pb::ConversionKind::Revenue) => ConversionKind::Revenue,
        Ok(pb::ConversionKind::Unspecified) => {
            return Err(ApiError::invalid_field("conversion", "required"))
        }
        Err(_) => {
            return Err(ApiError::invalid_field(
                "conversion",
                format!("unknown value {n}"),
            ))
        }
    })
}

fn level(n: i32, lookback_days: u32) -> Result<Level, ApiError> {
    match pb::AttributionLevel::try_from(n) {
        Ok(pb::AttributionLevel::Unspecified | pb::AttributionLevel::Contact) => Ok(Level::Contact),
        Ok(pb::AttributionLevel::Account) => Ok(match lookback_days {
            0 => Level::account(),
            1..=3650 => Level::Account { lookback_days },
            _ => return Err(ApiError::invalid_field("lookback_days", "must be 1..3650")),
        }),
        Err(_) => Err(ApiError::invalid_field(
            "level",
            format!("unknown value {n}"),
        )),
    }
}

/// Every model name a request may use, in the default order.
pub fn model_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Model::rule_based().iter().map(Model::name).collect();
    names.extend(["markov", "shapley"]);
    names
}

/// Resolves model names; the data-driven ones are fitted on `journeys` first.
fn models(
    names: &[String],
    journeys: &[Journey],
    kind: ConversionKind,
    lvl: Level,
) -> Result<Vec<Model>, ApiError> {
    let names: Vec<String> = if names.is_empty() {
        model_names().into_iter().map(String::from).collect()
    } else {
        names.to_vec()
    };
    let paths = || attr::channel_paths(journeys, kind, lvl);
    names
        .iter()
        .enumerate()
        .map(|(i, name)| match name.as_str() {
            "markov" => markov::fit(&paths(), 1)
                .map(|m| Model::Markov(m.channel_weights()))
                .map_err(|e| ApiError::Internal(e.to_string())),
            "shapley" => Ok(Model::Shapley(
                shapley::fit(&paths(), &shapley::ShapleyConfig::default()).channel_weights(),
            )),
            other => Model::parse(other).ok_or_else(|| {
                ApiError::invalid_field(
                    format!("models[{i}]"),
                    format!(
                        "unknown model {other:?}; one of {}",
                        model_names().join(", ")
                    ),
                )
            }),
        })
        .collect()
}

fn model_credits(model: &Model, a: &Attribution) -> pb::ModelCredits {
    let by_channel: BTreeMap<String, i64> = a.by_channel();
    let total: i64 = by_channel.values().sum();
    let mut channels: Vec<pb::ChannelCredit> = by_channel
        .into_iter()
        .map(|(channel, credit)| pb::ChannelCredit {
            channel,
            credit,
            share: if total == 0 {
                0.0
            } else {
                credit as f64 / total as f64
            },
        })
        .collect();
    channels.sort_by(|a, b| {
        b.credit
            .cmp(&a.credit)
            .then_with(|| a.channel.cmp(&b.channel))
    });
    pb::ModelCredits {
        model: model.name().to_string(),
        channels,
        total,
    }
}

#[tonic::async_trait]
impl AttributionService for AttributionSvc {
    async fn compare_models(
        &self,
        request: Request<pb::CompareModelsRequest>,
    ) -> Result<Response<pb::CompareModelsResponse>, Status> {
        let r = request.get_ref();
        let tenant = self
            .query
            .admit(&request, &r.tenant_id, &r.consistency_token)
            .await?;
        let r = request.into_inner();
        let kind = conversion(r.conversion)?;
        let lvl = level(r.level, r.lookback_days)?;
        let currency = if r.currency.is_empty() {
            "CNY".to_string()
        } else {
            r.currency.clone()
        };
        let journeys = self
            .journeys(&tenant, r.captured_from.as_ref(), r.captured_to.as_ref())
            .await?;
        let response = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
            let models = models(&r.models, &journeys, kind, lvl)?;
            let keep =
                |c: &attr::Conversion| kind != ConversionKind::Revenue || c.currency == currency;
            let mut out = pb::CompareModelsResponse {
                conversion: r.conversion,
                unit: if kind == ConversionKind::Revenue {
                    format!("{currency} minor units")
                } else {
                    "milli-conversions".to_string()
                },
                ..Default::default()
            };
            for model in &models {
                let mut a = attr::attribute(&journeys, kind, lvl, model)
                    .map_err(|e| ApiError::invalid_field("models", e.to_string()))?;
                a.credited.retain(|c| keep(&c.conversion));
                a.unattributed.retain(|c| keep(c));
                out.conversions = a.credited.len() as i64;
                out.unattributed = a.unattributed.len() as i64;
                out.models.push(model_credits(model, &a));
            }
            Ok(out)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("attribution task: {e}")))??;
        Ok(Response::new(response))
    }

    async fn markov_diagnostics(
        &self,
        request: Request<pb::MarkovDiagnosticsRequest>,
    ) -> Result<Response<pb::MarkovDiagnosticsResponse>, Status> {
        let r = request.get_ref();
        let tenant = self
            .query
            .admit(&request, &r.tenant_id, &r.consistency_token)
            .await?;
        let r = request.into_inner();
        let kind = conversion(r.conversion)?;
        let lvl = level(r.level, 0)?;
        let order = match r.order {
            0 => 1,
            n @ 1..=MAX_ORDER => n,
            _ => {
                return Err(
                    ApiError::invalid_field("order", format!("must be 1..{MAX_ORDER}")).into(),
                )
            }
        };
        let journeys = self
            .journeys(&tenant, r.captured_from.as_ref(), r.captured_to.as_ref())
            .await?;
        let m = tokio::task::spawn_blocking(move || {
            markov::fit(&attr::channel_paths(&journeys, kind, lvl), order as usize)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("attribution task: {e}")))?
        .map_err(|e| ApiError::invalid_field("order", e.to_string()))?;
        let total: f64 = m.removal_effects.values().sum();
        let mut removal_effects: Vec<pb::RemovalEffect> = m
            .removal_effects
            .iter()
            .map(|(channel, re)| pb::RemovalEffect {
                channel: channel.clone(),
                removal_effect: *re,
                share: if total > 0.0 { re / total } else { 0.0 },
            })
            .collect();
        removal_effects.sort_by(|a, b| b.removal_effect.total_cmp(&a.removal_effect));
        Ok(Response::new(pb::MarkovDiagnosticsResponse {
            order,
            paths: m.paths as u64,
            conversions: m.conversions as u64,
            conversion_probability: m.conversion_probability,
            removal_effects,
            transitions: m
                .transitions
                .iter()
                .map(|t| pb::MarkovTransition {
                    from: t.from.clone(),
                    to: t.to.clone(),
                    count: t.count,
                    probability: t.probability,
                })
                .collect(),
        }))
    }
}
