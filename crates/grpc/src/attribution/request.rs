//! An attribution request, decoded: conversion, level, grouping, period, models and their
//! parameters, each refused with the field it came from.

use chrono::NaiveDate;
use leadledger_api::convert::time_from_proto;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_attribution::precompute::{self, Basis, Dimension};
use leadledger_attribution::{
    self as attr, markov, shapley, ConversionKind, Journey, Level, Model, PositionWeights,
};

use super::MAX_ORDER;

pub(super) fn conversion(n: i32) -> Result<ConversionKind, ApiError> {
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

/// The level of `level` `n`, with `lookback_days` and, at account level, `account_scope`
/// `scope` (refused at contact level).
pub(super) fn level(n: i32, lookback_days: u32, scope: i32) -> Result<Level, ApiError> {
    let mut v = leadledger_domain::Violations::default();
    let Some(account_scope) = crate::measures::account_scope(&mut v, scope) else {
        return Err(ApiError::invalid(v));
    };
    match pb::AttributionLevel::try_from(n) {
        Ok(pb::AttributionLevel::Unspecified | pb::AttributionLevel::Contact) => {
            if scope != 0 {
                return Err(ApiError::invalid_field(
                    "account_scope",
                    "only with level ATTRIBUTION_LEVEL_ACCOUNT",
                ));
            }
            Ok(Level::Contact)
        }
        Ok(pb::AttributionLevel::Account) => Ok(Level::Account {
            lookback_days: match lookback_days {
                0 => attr::account::DEFAULT_LOOKBACK_DAYS,
                1..=3650 => lookback_days,
                _ => return Err(ApiError::invalid_field("lookback_days", "must be 1..3650")),
            },
            scope: account_scope,
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

/// Parameters of the models a request names.
pub(super) struct Params<'a> {
    pub(super) half_life_hours: u32,
    pub(super) markov_order: usize,
    pub(super) custom: &'a [(String, PositionWeights)],
}

pub(super) fn half_life(n: u32) -> Result<u32, ApiError> {
    match n {
        0 => Ok(attr::models::DEFAULT_HALF_LIFE_HOURS),
        1..=87_600 => Ok(n),
        _ => Err(ApiError::invalid_field(
            "half_life_hours",
            "must be 1..87600 (ten years)",
        )),
    }
}

pub(super) fn markov_order(field: &str, n: u32) -> Result<usize, ApiError> {
    match n {
        0 => Ok(1),
        1..=MAX_ORDER => Ok(n as usize),
        _ => Err(ApiError::invalid_field(
            field,
            format!("must be 1..{MAX_ORDER}"),
        )),
    }
}

pub(super) fn weights(
    field: &str,
    w: Option<&pb::PositionWeights>,
) -> Result<PositionWeights, ApiError> {
    let w = w.ok_or_else(|| ApiError::invalid_field(field, "required for a custom model"))?;
    let w = PositionWeights {
        first: w.first,
        lead_creation: w.lead_creation,
        opportunity_creation: w.opportunity_creation,
        closed_won: w.closed_won,
        last: w.last,
        others: w.others,
    };
    w.validate()
        .map_err(|e| ApiError::invalid_field(field, e.to_string()))?;
    Ok(w)
}

/// Resolves one model name; the data-driven ones are fitted on `journeys` first.
pub(super) fn model(
    field: &str,
    name: &str,
    p: &Params<'_>,
    journeys: &[Journey],
    kind: ConversionKind,
    lvl: Level,
) -> Result<Model, ApiError> {
    let paths = || attr::channel_paths(journeys, kind, lvl);
    match name {
        "markov" => markov::fit(&paths(), p.markov_order)
            .map(|m| Model::Markov(m.channel_weights()))
            .map_err(|e| ApiError::invalid_field(field, e.to_string())),
        "shapley" => Ok(Model::Shapley(
            shapley::fit(&paths(), &shapley::ShapleyConfig::default()).channel_weights(),
        )),
        "time_decay" => Ok(Model::TimeDecay {
            half_life_hours: p.half_life_hours,
        }),
        other => {
            if let Some((_, w)) = p.custom.iter().find(|(n, _)| n == other) {
                return Ok(Model::Custom(*w));
            }
            Model::parse(other).ok_or_else(|| {
                ApiError::invalid_field(
                    field,
                    format!(
                        "unknown model {other:?}; one of {}",
                        model_names().join(", ")
                    ),
                )
            })
        }
    }
}

pub(super) fn group_by(n: i32) -> Result<Dimension, ApiError> {
    Ok(match pb::GroupBy::try_from(n) {
        Ok(pb::GroupBy::Unspecified | pb::GroupBy::Channel) => Dimension::Channel,
        Ok(pb::GroupBy::Campaign) => Dimension::Campaign,
        Ok(pb::GroupBy::Keyword) => Dimension::Keyword,
        Ok(pb::GroupBy::Region) => Dimension::Region,
        Ok(pb::GroupBy::Industry) => Dimension::Industry,
        Ok(pb::GroupBy::Segment) => Dimension::Segment,
        Err(_) => {
            return Err(ApiError::invalid_field(
                "group_by",
                format!("unknown value {n}"),
            ))
        }
    })
}

pub(super) fn basis(n: i32) -> Result<Basis, ApiError> {
    Ok(match pb::PeriodBasis::try_from(n) {
        Ok(pb::PeriodBasis::Unspecified | pb::PeriodBasis::Captured) => Basis::Captured,
        Ok(pb::PeriodBasis::Converted) => Basis::Converted,
        Err(_) => {
            return Err(ApiError::invalid_field(
                "period_basis",
                format!("unknown value {n}"),
            ))
        }
    })
}

pub(super) fn day(
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Result<Option<NaiveDate>, ApiError> {
    t.map(|t| {
        time_from_proto(t)
            .map(|t| t.date_naive())
            .ok_or_else(|| ApiError::invalid_field(field, "not a valid timestamp"))
    })
    .transpose()
}

/// The request's currency (CNY when empty), refused as ingest refuses it: an unknown or
/// lower-case code would otherwise answer OK with nothing in it.
pub(super) fn currency_or_default(c: &str) -> Result<String, ApiError> {
    if c.is_empty() {
        Ok("CNY".to_string())
    } else if leadledger_domain::validate::is_currency(c) {
        Ok(c.to_string())
    } else {
        Err(ApiError::invalid_field(
            "currency",
            "must be an ISO 4217 code such as CNY, USD or EUR (upper-case)",
        ))
    }
}

pub(super) fn level_name(l: Level) -> &'static str {
    match l {
        Level::Contact => precompute::LEVELS[0],
        Level::Account { .. } => precompute::LEVELS[1],
    }
}

/// What an `Attribution` request asks, decoded.
pub(super) struct Ask {
    pub(super) kind: ConversionKind,
    pub(super) lvl: Level,
    pub(super) dimension: Dimension,
    pub(super) basis: Basis,
    pub(super) currency: String,
}
