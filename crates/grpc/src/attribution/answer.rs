//! An attribution answer: credits per value with their shares, in either path's shape.

use std::collections::BTreeMap;

use leadledger_api::pb;
use leadledger_attribution::{Attribution, ConversionKind};

pub(super) fn credits_by_value(by: BTreeMap<String, i64>) -> (Vec<(String, i64, f64)>, i64) {
    let total: i64 = by.values().sum();
    let mut rows: Vec<(String, i64, f64)> = by
        .into_iter()
        .map(|(v, c)| {
            let share = if total == 0 {
                0.0
            } else {
                c as f64 / total as f64
            };
            (v, c, share)
        })
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (rows, total)
}

/// Revenue is credited in one currency: drops the other currencies' conversions.
pub(super) fn keep_currency(a: &mut Attribution, kind: ConversionKind, currency: &str) {
    if kind == ConversionKind::Revenue {
        a.credited.retain(|c| c.conversion.currency == currency);
        a.unattributed.retain(|c| c.currency == currency);
    }
}

/// The groups, counts and total of an `Attribution` answer (either path).
pub(super) fn grouped(
    by: BTreeMap<String, i64>,
    conversions: i64,
    unattributed: i64,
) -> pb::AttributionResponse {
    let (rows, total) = credits_by_value(by);
    pb::AttributionResponse {
        conversions,
        unattributed,
        total,
        groups: rows
            .into_iter()
            .map(|(value, credit, share)| pb::GroupCredit {
                value,
                credit,
                share,
            })
            .collect(),
        ..Default::default()
    }
}

pub(super) fn model_credits(name: &str, a: &Attribution) -> pb::ModelCredits {
    let (rows, total) = credits_by_value(a.by_channel());
    pb::ModelCredits {
        model: name.to_string(),
        channels: rows
            .into_iter()
            .map(|(channel, credit, share)| pb::ChannelCredit {
                channel,
                credit,
                share,
            })
            .collect(),
        total,
    }
}

pub(super) fn unit(kind: ConversionKind, currency: &str) -> String {
    if kind == ConversionKind::Revenue {
        format!("{currency} minor units")
    } else {
        "milli-conversions".to_string()
    }
}
