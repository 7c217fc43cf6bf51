//! The attribution service: credits conversions to channels, campaigns, keywords, regions,
//! industries or segments, one model grouped (`Attribution`) or several side by side
//! (`CompareModels`), plus the data-driven models' diagnostics. Same events, same rules
//! (docs/ATTRIBUTION.md) on both of its paths:
//! - **precomputed**: a configured rule-based model with the configured parameters is read
//!   from the totals the credits worker keeps (`leadledger_store::credits`); a consistency
//!   token waits for the credits' own checkpoints;
//! - **on request**: anything else (Markov, Shapley, custom weights, another half-life or
//!   lookback) is computed from the timelines with the pure `leadledger-attribution` crate.

use leadledger_api::convert::time_from_proto;
use leadledger_api::pb::{self, attribution_service_server::AttributionService};
use leadledger_api::ApiError;
use leadledger_attribution::precompute::{self, ModelSet};
use leadledger_attribution::{
    self as attr, markov, shapley, ConversionKind, Journey, Level, Model, Scope,
};
use leadledger_domain::Cut;
use leadledger_store::applied::Applied;
use leadledger_store::credits;
use tonic::{Request, Response, Status};

use crate::context::ReadContext;

mod answer;
mod request;
mod roi;

use answer::{grouped, keep_currency, model_credits, unit};
pub use request::model_names;
use request::{
    basis, conversion, currency_or_default, day, group_by, half_life, level, level_name,
    markov_order, model, weights, Ask, Params,
};

/// Highest Markov order accepted.
pub const MAX_ORDER: u32 = 4;

/// Most Shapley samples a request may ask for.
pub const MAX_SAMPLES: u32 = 100_000;

/// The attribution gRPC service (shares the query service's store and consistency waits).
#[derive(Clone)]
pub struct AttributionSvc {
    query: ReadContext,
    /// What the credits worker precomputes (must be the projector's configuration).
    set: ModelSet,
    credits: Applied,
}

impl AttributionSvc {
    /// The service over the default precomputed model set.
    pub fn new(query: ReadContext) -> Self {
        Self::with_models(query, ModelSet::default_set())
    }

    /// The service over the precomputed model set `set`.
    pub fn with_models(query: ReadContext, set: ModelSet) -> Self {
        let credits = Applied::spawn_for(
            query.store().clone(),
            query.topic(),
            credits::PROJECTION,
            credits::NOTIFY_CHANNEL,
        );
        Self {
            query,
            set,
            credits,
        }
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
        let pool = &self.query.store().pool;
        let events = leadledger_store::timeline::of_tenant(pool, tenant, from, to)
            .await
            .map_err(leadledger_api::ApiError::from)?;
        let mut journeys = blocking(move || attr::touch::unresolved_journeys(&events)).await?;
        // Referrers by their projected sources, as the precomputed credits read them.
        let mut conn = pool
            .acquire()
            .await
            .map_err(leadledger_store::StoreError::from)?;
        credits::referrals::resolve(&mut conn, journeys.iter_mut().map(|j| (tenant, j))).await?;
        Ok(journeys)
    }

    /// Every journey of `tenant` from the events `cut` admits.
    async fn journeys_at(&self, tenant: &str, cut: &Cut) -> Result<Vec<Journey>, ApiError> {
        let mut events = Vec::new();
        let every = leadledger_store::cut::Captured::default();
        let pool = &self.query.store().pool;
        let roots = leadledger_store::cut::for_each_lead(pool, tenant, cut, every, |_, _, e| {
            events.extend_from_slice(e)
        })
        .await?;
        // Referrers by their sources under the cut, through its merges.
        blocking(move || {
            let mut journeys = attr::journeys(&events);
            attr::referral::resolve_among(&mut journeys, &roots);
            journeys
        })
        .await
    }
}

/// Runs CPU-heavy attribution work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("attribution task: {e}")))
}

impl AttributionSvc {
    /// Whether the request can be read from the precomputed totals: a stored model with
    /// the stored parameters.
    fn precomputed(&self, r: &pb::AttributionRequest, lvl: Level) -> bool {
        let Some(i) = self.set.position(&r.model) else {
            return false;
        };
        let stored = &self.set.models[i].1;
        let half_life_ok = match stored {
            Model::TimeDecay { half_life_hours } => {
                r.half_life_hours == 0 || r.half_life_hours == *half_life_hours
            }
            _ => true,
        };
        let lookback_ok = match lvl {
            Level::Contact => true,
            Level::Account {
                lookback_days,
                scope,
            } => {
                (r.lookback_days == 0 || lookback_days == self.set.lookback_days)
                    && scope == Scope::AllContacts
            }
        };
        half_life_ok && lookback_ok && r.custom_weights.is_none()
    }

    async fn attribution_precomputed(
        &self,
        tenant: &str,
        r: &pb::AttributionRequest,
        ask: &Ask,
    ) -> Result<pb::AttributionResponse, ApiError> {
        let Ask {
            kind,
            lvl,
            dimension,
            basis,
            ref currency,
        } = *ask;
        let cur = if kind == ConversionKind::Revenue {
            currency.as_str()
        } else {
            ""
        };
        let report = credits::Report {
            tenant,
            level: level_name(lvl),
            conversion: kind.as_str(),
            model: &r.model,
            basis: basis.as_str(),
            dimension: dimension.as_str(),
            currency: cur,
            from: day("period_from", r.period_from.as_ref())?,
            to: day("period_to", r.period_to.as_ref())?,
        };
        let (groups, conversions, unattributed) =
            credits::report(&self.query.store().pool, &report)
                .await
                .map_err(leadledger_api::ApiError::from)?
                .ok_or_else(|| {
                    ApiError::Unavailable(format!(
                        "model {:?} is not among the stored precomputed credits: the \
                         projector's attribution settings differ from this server's, or a \
                         rebuild is under way",
                        r.model
                    ))
                })?;
        let mut out = grouped(groups.into_iter().collect(), conversions, unattributed);
        out.model = r.model.clone();
        out.conversion = r.conversion;
        out.unit = unit(kind, currency);
        out.precomputed = true;
        Ok(out)
    }
}

impl AttributionSvc {
    /// One model's credits for `r` of `tenant` (`Attribution`, and the revenue `Roi`
    /// credits), after waiting for its consistency token within `request`'s deadline; at a
    /// cut of the log, always computed on request from the events it admits.
    pub(crate) async fn answer<T>(
        &self,
        request: &Request<T>,
        tenant: &str,
        r: pb::AttributionRequest,
        cut: &Cut,
    ) -> Result<pb::AttributionResponse, ApiError> {
        if r.model.is_empty() {
            return Err(ApiError::invalid_field("model", "required"));
        }
        let kind = conversion(r.conversion)?;
        let lvl = level(r.level, r.lookback_days, r.account_scope)?;
        let dimension = group_by(r.group_by)?;
        let basis = basis(r.period_basis)?;
        let currency = currency_or_default(&r.currency)?;
        let (from, to) = (
            day("period_from", r.period_from.as_ref())?,
            day("period_to", r.period_to.as_ref())?,
        );
        if cut.is_live() && self.precomputed(&r, lvl) {
            self.query
                .wait_on(&self.credits, request, tenant, &r.consistency_token)
                .await?;
            let ask = Ask {
                kind,
                lvl,
                dimension,
                basis,
                currency,
            };
            return self.attribution_precomputed(tenant, &r, &ask).await;
        }
        self.query
            .wait_for(request, tenant, &r.consistency_token)
            .await?;
        let lvl = match lvl {
            Level::Account { scope, .. } if r.lookback_days == 0 => Level::Account {
                lookback_days: self.set.lookback_days,
                scope,
            },
            l => l,
        };
        let custom = if r.model == "custom" {
            vec![(
                "custom".to_string(),
                weights("custom_weights", r.custom_weights.as_ref())?,
            )]
        } else {
            Vec::new()
        };
        let half_life_hours = half_life(r.half_life_hours)?;
        let order = markov_order("markov_order", r.markov_order)?;
        // Colleagues and late conversions may lie outside any capture window: read all.
        let journeys = if cut.is_live() {
            self.journeys(tenant, None, None).await?
        } else {
            self.journeys_at(tenant, cut).await?
        };
        let response = blocking(move || -> Result<_, ApiError> {
            let params = Params {
                half_life_hours,
                markov_order: order,
                custom: &custom,
            };
            let m = model("model", &r.model, &params, &journeys, kind, lvl)?;
            let mut a = attr::attribute(&journeys, kind, lvl, &m)
                .map_err(|e| ApiError::invalid_field("model", e.to_string()))?;
            keep_currency(&mut a, kind, &currency);
            let g = precompute::group(&journeys, &a, basis, dimension, from, to);
            let mut out = grouped(g.groups, g.conversions, g.unattributed);
            out.model = r.model.clone();
            out.conversion = r.conversion;
            out.unit = unit(kind, &currency);
            Ok(out)
        })
        .await??;
        Ok(response)
    }
}

#[tonic::async_trait]
impl AttributionService for AttributionSvc {
    async fn attribution(
        &self,
        request: Request<pb::AttributionRequest>,
    ) -> Result<Response<pb::AttributionResponse>, Status> {
        let tenant = crate::tenant::resolve(&request, &request.get_ref().tenant_id)?;
        let r = request.get_ref().clone();
        Ok(Response::new(
            self.answer(&request, &tenant, r, &Cut::LIVE).await?,
        ))
    }

    async fn roi(
        &self,
        request: Request<pb::RoiRequest>,
    ) -> Result<Response<pb::RoiResponse>, Status> {
        Ok(Response::new(self.roi_answer(&request).await?))
    }

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
        let lvl = level(r.level, r.lookback_days, r.account_scope)?;
        let currency = currency_or_default(&r.currency)?;
        let half_life_hours = half_life(r.half_life_hours)?;
        let order = markov_order("markov_order", r.markov_order)?;
        let mut custom = Vec::new();
        for (i, c) in r.custom.iter().enumerate() {
            let field = format!("custom[{i}]");
            if c.name.is_empty() || model_names().contains(&c.name.as_str()) {
                return Err(ApiError::invalid_field(
                    format!("{field}.name"),
                    "required, and not a built-in model's name",
                )
                .into());
            }
            custom.push((
                c.name.clone(),
                weights(&format!("{field}.weights"), c.weights.as_ref())?,
            ));
        }
        let journeys = self
            .journeys(&tenant, r.captured_from.as_ref(), r.captured_to.as_ref())
            .await?;
        let response = blocking(move || -> Result<_, ApiError> {
            let mut names: Vec<String> = if r.models.is_empty() {
                model_names().into_iter().map(String::from).collect()
            } else {
                r.models.clone()
            };
            names.extend(custom.iter().map(|(n, _)| n.clone()));
            let params = Params {
                half_life_hours,
                markov_order: order,
                custom: &custom,
            };
            let mut out = pb::CompareModelsResponse {
                conversion: r.conversion,
                unit: unit(kind, &currency),
                ..Default::default()
            };
            for (i, name) in names.iter().enumerate() {
                let m = model(&format!("models[{i}]"), name, &params, &journeys, kind, lvl)?;
                let mut a = attr::attribute(&journeys, kind, lvl, &m)
                    .map_err(|e| ApiError::invalid_field("models", e.to_string()))?;
                keep_currency(&mut a, kind, &currency);
                out.conversions = a.credited.len() as i64;
                out.unattributed = a.unattributed.len() as i64;
                out.models.push(model_credits(name, &a));
            }
            Ok(out)
        })
        .await??;
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
        let lvl = level(r.level, 0, r.account_scope)?;
        let order = markov_order("order", r.order)?;
        let journeys = self
            .journeys(&tenant, r.captured_from.as_ref(), r.captured_to.as_ref())
            .await?;
        let m = blocking(move || markov::fit(&attr::channel_paths(&journeys, kind, lvl), order))
            .await?
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
            order: order as u32,
            paths: m.paths as u64,
            conversions: m.conversions as u64,
            conversion_probability: m.conversion_probability,
            removal_effects,
            transitions: m
                .transitions
                .iter()
                .map(|t| pb::MarkovTransition {
                    from_state: t.from.clone(),
                    to_state: t.to.clone(),
                    count: t.count,
                    probability: t.probability,
                })
                .collect(),
        }))
    }

    async fn shapley_diagnostics(
        &self,
        request: Request<pb::ShapleyDiagnosticsRequest>,
    ) -> Result<Response<pb::ShapleyDiagnosticsResponse>, Status> {
        let r = request.get_ref();
        let tenant = self
            .query
            .admit(&request, &r.tenant_id, &r.consistency_token)
            .await?;
        let r = request.into_inner();
        let kind = conversion(r.conversion)?;
        let lvl = level(r.level, 0, r.account_scope)?;
        let mut config = shapley::ShapleyConfig::default();
        if r.seed != 0 {
            config.seed = r.seed;
        }
        match r.samples {
            0 => {}
            n @ 1..=MAX_SAMPLES => config.samples = n,
            _ => {
                return Err(
                    ApiError::invalid_field("samples", format!("must be 1..{MAX_SAMPLES}")).into(),
                )
            }
        }
        let journeys = self
            .journeys(&tenant, r.captured_from.as_ref(), r.captured_to.as_ref())
            .await?;
        let (m, conversions) = blocking(move || {
            let paths = attr::channel_paths(&journeys, kind, lvl);
            let conversions = paths.iter().filter(|p| p.converted).count() as u64;
            (shapley::fit(&paths, &config), conversions)
        })
        .await?;
        let total: f64 = m.values.values().filter(|v| **v > 0.0).sum();
        let mut values: Vec<pb::ShapleyValue> = m
            .values
            .iter()
            .map(|(channel, v)| pb::ShapleyValue {
                channel: channel.clone(),
                value: *v,
                share: if total > 0.0 && *v > 0.0 {
                    v / total
                } else {
                    0.0
                },
            })
            .collect();
        values.sort_by(|a, b| {
            b.value
                .total_cmp(&a.value)
                .then_with(|| a.channel.cmp(&b.channel))
        });
        let (method, samples, seed) = match m.method {
            shapley::Method::Exact => ("exact", 0, 0),
            shapley::Method::Sampled { samples, seed } => ("sampled", samples, seed),
        };
        Ok(Response::new(pb::ShapleyDiagnosticsResponse {
            method: method.to_string(),
            samples,
            seed,
            channels: m.values.len() as u32,
            conversions,
            total_value: i64::try_from(m.total_value).unwrap_or(i64::MAX),
            values,
        }))
    }
}
