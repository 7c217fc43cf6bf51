//! Precomputed credits: the rows the credits projection stores, and the totals reports sum.
//!
//! The rule-based models depend only on a lead's own timeline (contact level) or on its
//! account's timelines (account level), so their credits can be kept up to date lead by
//! lead as facts arrive, and a report becomes a sum over small pre-aggregated rows instead
//! of a walk over every timeline. The data-driven models (Markov, Shapley) are fitted on the
//! whole population and stay computed on request.
//!
//! For one converting lead, [`lead_credits`] gives, per conversion and level, one
//! [`ConversionRow`] and one [`CreditRow`] per touch of the path, whose `credits` hold one
//! amount per model of the [`ModelSet`] (in its order): every model sees the same path, so
//! the touches line up. [`Totals`] sums rows into [`TotalKey`]s — one credit per model for
//! each level, conversion, currency, period basis, UTC day and dimension value — and
//! [`PeriodKey`]s
//! (how many conversions, how many with nothing to credit). Totals are additive, so a
//! lead's change is applied as "new totals − old totals".

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::models::{Model, PositionWeights};
use crate::touch::Journey;
use crate::{account, credit, ConversionKind, Error};

/// The models whose credits are precomputed, and the account-level lookback they use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSet {
    /// Name and model, in storage order (`credits[i]` is `models[i]`'s amount).
    pub models: Vec<(String, Model)>,
    /// Account-level lookback for colleagues' touches, in days.
    pub lookback_days: u32,
}

impl ModelSet {
    /// The ten rule-based models (time decay with `half_life_hours`) followed by the
    /// `custom` position models, each under its own name.
    pub fn new(
        half_life_hours: u32,
        lookback_days: u32,
        custom: &[(String, PositionWeights)],
    ) -> Result<ModelSet, Error> {
        let mut models: Vec<(String, Model)> = Model::rule_based()
            .into_iter()
            .map(|m| match m {
                Model::TimeDecay { .. } => Model::TimeDecay { half_life_hours },
                m => m,
            })
            .map(|m| (m.name().to_string(), m))
            .collect();
        for (name, w) in custom {
            models.push((name.clone(), Model::Custom(*w)));
        }
        for (_, m) in &models {
            m.validate()?;
        }
        Ok(ModelSet {
            models,
            lookback_days,
        })
    }

    /// The default set: the rule-based models with their default parameters.
    pub fn default_set() -> ModelSet {
        ModelSet::new(
            crate::models::DEFAULT_HALF_LIFE_HOURS,
            account::DEFAULT_LOOKBACK_DAYS,
            &[],
        )
        .expect("defaults are valid")
    }

    /// A stable description of the set: stored credits were computed with the set whose
    /// fingerprint is stored beside them; a different one means they must be rebuilt.
    pub fn fingerprint(&self) -> String {
        serde_json_like(self)
    }

    /// The index of a model by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.models.iter().position(|(n, _)| n == name)
    }
}

// A dependency-free, deterministic rendering (Debug of plain data is stable).
fn serde_json_like(set: &ModelSet) -> String {
    format!("v1 lookback={} {:?}", set.lookback_days, set.models)
}

/// The two levels, by their stored names.
pub const LEVELS: [&str; 2] = ["contact", "account"];

/// One conversion of one lead at one level.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConversionRow {
    pub lead_id: String,
    pub kind: ConversionKind,
    /// `contact` or `account`.
    pub level: &'static str,
    pub converted_at: DateTime<Utc>,
    pub value_minor: i64,
    pub currency: String,
    pub captured_at: Option<DateTime<Utc>>,
    pub region: String,
    pub industry: String,
    pub segment: String,
    /// Touchpoints credited (0: the conversion had none, its value is on no channel).
    pub touches: u16,
}

/// One touchpoint's credits for one conversion at one level, one amount per model.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CreditRow {
    pub lead_id: String,
    pub kind: ConversionKind,
    pub level: &'static str,
    /// Position on the path.
    pub index: u16,
    pub touch_event_id: Uuid,
    /// Whose touch (a colleague's on an account-level path).
    pub touch_lead_id: String,
    pub touch_at: DateTime<Utc>,
    pub channel: String,
    pub campaign: String,
    pub keyword: String,
    /// `credits[i]` is the amount of `ModelSet::models[i]`; each model's column sums to
    /// the conversion's value exactly.
    pub credits: Vec<i64>,
}

/// Everything stored for one lead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadCredits {
    pub conversions: Vec<ConversionRow>,
    pub credits: Vec<CreditRow>,
}

/// Paths longer than this are credited on their last `MAX_PATH` touches' positions only in
/// storage terms: `index` is a `u16`. No real lead comes near it.
pub const MAX_PATH: usize = u16::MAX as usize;

/// The credits of every conversion of `lead`, at both levels. `members` are the journeys
/// of its account (it may include `lead`; for a lead that is its own account, pass none).
pub fn lead_credits(set: &ModelSet, lead: &Journey, members: &[&Journey]) -> LeadCredits {
    let mut out = LeadCredits::default();
    let lookback = Duration::days(i64::from(set.lookback_days));
    for conv in &lead.conversions {
        for level in LEVELS {
            let path = match level {
                "contact" => lead.path.clone(),
                _ => account::account_path(members, lead, conv.at, lookback),
            };
            let mut columns: Vec<Vec<crate::Credit>> = Vec::with_capacity(set.models.len());
            for (_, model) in &set.models {
                match credit(conv, &path, model) {
                    Ok(c) => columns.push(c),
                    // Validated in `ModelSet::new`; an empty path is the only other outcome.
                    Err(_) => {
                        columns.clear();
                        break;
                    }
                }
            }
            let touches = columns.first().map_or(0, Vec::len).min(MAX_PATH);
            out.conversions.push(ConversionRow {
                lead_id: lead.lead_id.clone(),
                kind: conv.kind,
                level,
                converted_at: conv.at,
                value_minor: conv.value_minor,
                currency: conv.currency.clone(),
                captured_at: lead.captured_at,
                region: lead.region.clone(),
                industry: lead.industry.clone(),
                segment: lead.segment.clone(),
                touches: touches as u16,
            });
            for i in 0..touches {
                let t = &columns[0][i];
                out.credits.push(CreditRow {
                    lead_id: lead.lead_id.clone(),
                    kind: conv.kind,
                    level,
                    index: i as u16,
                    touch_event_id: t.event_id,
                    touch_lead_id: t.lead_id.clone(),
                    touch_at: t.at,
                    channel: t.channel.clone(),
                    campaign: t.campaign.clone(),
                    keyword: t.keyword.clone(),
                    credits: columns.iter().map(|c| c[i].amount_minor).collect(),
                });
            }
        }
    }
    out
}

/// Which date puts a conversion in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Basis {
    /// The lead's capture date.
    Captured,
    /// The conversion's own date (for signed and revenue: the signing date).
    Converted,
}

impl Basis {
    pub const ALL: [Basis; 2] = [Basis::Captured, Basis::Converted];

    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Captured => "captured",
            Basis::Converted => "converted",
        }
    }

    /// The UTC day a conversion falls on under this basis (a lead without any capture
    /// date falls on its conversion day).
    pub fn day(self, c: &ConversionRow) -> NaiveDate {
        match self {
            Basis::Captured => c.captured_at.unwrap_or(c.converted_at).date_naive(),
            Basis::Converted => c.converted_at.date_naive(),
        }
    }
}

/// What reports group credits by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Dimension {
    /// The touch's channel, campaign or keyword.
    Channel,
    Campaign,
    Keyword,
    /// The converting lead's company region, industry or segment: the whole conversion
    /// value lands on one value, whatever the model.
    Region,
    Industry,
    Segment,
}

impl Dimension {
    pub const ALL: [Dimension; 6] = [
        Dimension::Channel,
        Dimension::Campaign,
        Dimension::Keyword,
        Dimension::Region,
        Dimension::Industry,
        Dimension::Segment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Channel => "channel",
            Dimension::Campaign => "campaign",
            Dimension::Keyword => "keyword",
            Dimension::Region => "region",
            Dimension::Industry => "industry",
            Dimension::Segment => "segment",
        }
    }

    /// The value a credit is grouped under.
    pub fn value<'a>(self, c: &'a ConversionRow, t: &'a CreditRow) -> &'a str {
        match self {
            Dimension::Channel => &t.channel,
            Dimension::Campaign => &t.campaign,
            Dimension::Keyword => &t.keyword,
            Dimension::Region => &c.region,
            Dimension::Industry => &c.industry,
            Dimension::Segment => &c.segment,
        }
    }
}

/// One pre-aggregated credit cell (its value holds one credit per model of the set).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TotalKey {
    pub level: &'static str,
    pub kind: ConversionKind,
    pub currency: String,
    pub basis: Basis,
    pub day: NaiveDate,
    pub dimension: Dimension,
    pub value: String,
}

/// One pre-aggregated conversion-count cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeriodKey {
    pub level: &'static str,
    pub kind: ConversionKind,
    pub currency: String,
    pub basis: Basis,
    pub day: NaiveDate,
}

/// Conversions in a period cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodTotals {
    pub conversions: i64,
    /// Of which had no touchpoint to credit.
    pub unattributed: i64,
    /// Summed conversion value (credited or not).
    pub value_minor: i64,
}

/// The totals of some leads' rows (`credits[key][i]` is `set.models[i]`'s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub credits: BTreeMap<TotalKey, Vec<i64>>,
    pub periods: BTreeMap<PeriodKey, PeriodTotals>,
}

impl Totals {
    /// Adds `rows` (which must hold the conversion row of each credit row).
    pub fn add(&mut self, set: &ModelSet, rows: &LeadCredits, sign: i64) {
        let conv: BTreeMap<(&str, ConversionKind, &str), &ConversionRow> = rows
            .conversions
            .iter()
            .map(|c| ((c.lead_id.as_str(), c.kind, c.level), c))
            .collect();
        for c in &rows.conversions {
            for basis in Basis::ALL {
                let p = self
                    .periods
                    .entry(PeriodKey {
                        level: c.level,
                        kind: c.kind,
                        currency: c.currency.clone(),
                        basis,
                        day: basis.day(c),
                    })
                    .or_default();
                p.conversions += sign;
                p.value_minor += sign * c.value_minor;
                if c.touches == 0 {
                    p.unattributed += sign;
                }
            }
        }
        for t in &rows.credits {
            let Some(c) = conv.get(&(t.lead_id.as_str(), t.kind, t.level)) else {
                continue;
            };
            for basis in Basis::ALL {
                let day = basis.day(c);
                for dimension in Dimension::ALL {
                    let cell = self
                        .credits
                        .entry(TotalKey {
                            level: c.level,
                            kind: c.kind,
                            currency: c.currency.clone(),
                            basis,
                            day,
                            dimension,
                            value: dimension.value(c, t).to_string(),
                        })
                        .or_insert_with(|| vec![0; set.models.len()]);
                    for (sum, amount) in cell.iter_mut().zip(&t.credits) {
                        *sum += sign * amount;
                    }
                }
            }
        }
    }

    /// Drops cells that net to zero (what an unchanged lead leaves after old − new).
    pub fn prune(&mut self) {
        self.credits.retain(|_, v| v.iter().any(|x| *x != 0));
        self.periods.retain(|_, p| *p != PeriodTotals::default());
    }
}

/// An on-request attribution grouped like the precomputed totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grouped {
    /// Credit per dimension value.
    pub groups: BTreeMap<String, i64>,
    /// Conversions in the period.
    pub conversions: i64,
    /// Of which had nothing to credit.
    pub unattributed: i64,
}

/// Groups `a` (computed over `journeys`) by `dimension`, keeping the conversions whose day
/// under `basis` lies in `[from, to)` — the rule the precomputed totals follow, so both
/// paths give the same numbers for the same model.
pub fn group(
    journeys: &[Journey],
    a: &crate::Attribution,
    basis: Basis,
    dimension: Dimension,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Grouped {
    let leads: BTreeMap<&str, &Journey> =
        journeys.iter().map(|j| (j.lead_id.as_str(), j)).collect();
    let row = |c: &crate::Conversion| -> Option<ConversionRow> {
        let j = leads.get(c.lead_id.as_str())?;
        Some(ConversionRow {
            lead_id: c.lead_id.clone(),
            kind: c.kind,
            level: LEVELS[0],
            converted_at: c.at,
            value_minor: c.value_minor,
            currency: c.currency.clone(),
            captured_at: j.captured_at,
            region: j.region.clone(),
            industry: j.industry.clone(),
            segment: j.segment.clone(),
            touches: 0,
        })
    };
    let within = |r: &ConversionRow| {
        let d = basis.day(r);
        from.is_none_or(|f| d >= f) && to.is_none_or(|t| d < t)
    };
    let mut out = Grouped::default();
    for c in &a.unattributed {
        if row(c).is_some_and(|r| within(&r)) {
            out.conversions += 1;
            out.unattributed += 1;
        }
    }
    for credited in &a.credited {
        let Some(r) = row(&credited.conversion).filter(|r| within(r)) else {
            continue;
        };
        out.conversions += 1;
        for t in &credited.credits {
            let value = match dimension {
                Dimension::Channel => &t.channel,
                Dimension::Campaign => &t.campaign,
                Dimension::Keyword => &t.keyword,
                Dimension::Region => &r.region,
                Dimension::Industry => &r.industry,
                Dimension::Segment => &r.segment,
            };
            *out.groups.entry(value.clone()).or_default() += t.amount_minor;
        }
    }
    out.groups.retain(|_, v| *v != 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::touch::{Milestones, Path, TouchKind, Touchpoint};
    use crate::{Conversion, COUNT_UNIT};
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    fn touch(lead: &str, n: u128, when: DateTime<Utc>, channel: &str) -> Touchpoint {
        Touchpoint {
            at: when,
            event_id: Uuid::from_u128(n),
            lead_id: lead.into(),
            channel: channel.into(),
            campaign: format!("{channel}-campaign"),
            keyword: String::new(),
            kind: if n == 1 {
                TouchKind::Capture
            } else {
                TouchKind::Touch
            },
        }
    }

    fn lead(id: &str, touches: Vec<Touchpoint>, conversions: Vec<Conversion>) -> Journey {
        Journey {
            lead_id: id.into(),
            company_domain: "acme.com".into(),
            region: "east".into(),
            segment: "KA".into(),
            captured_at: Some(at(1, 9)),
            path: Path::new(touches, Milestones::default()),
            conversions,
            ..Default::default()
        }
    }

    fn conv(lead: &str, kind: ConversionKind, when: DateTime<Utc>, value: i64) -> Conversion {
        Conversion {
            lead_id: lead.into(),
            kind,
            at: when,
            value_minor: value,
            currency: if kind == ConversionKind::Revenue {
                "CNY".into()
            } else {
                String::new()
            },
        }
    }

    #[test]
    fn every_model_column_sums_to_the_value_and_matches_attribute() {
        let set = ModelSet::default_set();
        let a = lead(
            "a",
            vec![
                touch("a", 1, at(1, 9), "search"),
                touch("a", 2, at(3, 9), "webinar"),
                touch("a", 3, at(5, 9), "email"),
            ],
            vec![
                conv("a", ConversionKind::Mql, at(6, 9), COUNT_UNIT),
                conv("a", ConversionKind::Revenue, at(20, 9), 1_000_001),
            ],
        );
        let rows = lead_credits(&set, &a, &[&a]);
        assert_eq!(rows.conversions.len(), 4, "two conversions × two levels");
        for c in &rows.conversions {
            let mine: Vec<&CreditRow> = rows
                .credits
                .iter()
                .filter(|t| t.kind == c.kind && t.level == c.level)
                .collect();
            assert_eq!(mine.len(), usize::from(c.touches));
            for (i, (_, model)) in set.models.iter().enumerate() {
                let sum: i64 = mine.iter().map(|t| t.credits[i]).sum();
                assert_eq!(sum, c.value_minor);
                // Same amounts as the on-request path.
                let expected = crate::attribute(
                    std::slice::from_ref(&a),
                    c.kind,
                    crate::Level::Contact,
                    model,
                )
                .unwrap();
                let want: Vec<i64> = expected.credited[0]
                    .credits
                    .iter()
                    .map(|x| x.amount_minor)
                    .collect();
                let got: Vec<i64> = mine.iter().map(|t| t.credits[i]).collect();
                assert_eq!(got, want, "{}", set.models[i].0);
            }
        }
    }

    #[test]
    fn a_lead_without_touches_is_counted_unattributed() {
        let set = ModelSet::default_set();
        let a = lead(
            "a",
            vec![],
            vec![conv("a", ConversionKind::Sql, at(2, 9), COUNT_UNIT)],
        );
        let rows = lead_credits(&set, &a, &[]);
        assert!(rows.credits.is_empty());
        let mut t = Totals::default();
        t.add(&set, &rows, 1);
        let p = t.periods.values().next().unwrap();
        assert_eq!((p.conversions, p.unattributed), (1, 1));
        assert!(t.credits.is_empty());
    }

    #[test]
    fn totals_by_dimension_add_up_and_old_minus_new_nets_out() {
        let set = ModelSet::default_set();
        let a = lead(
            "a",
            vec![
                touch("a", 1, at(1, 9), "search"),
                touch("a", 2, at(2, 9), "webinar"),
            ],
            vec![conv("a", ConversionKind::Mql, at(4, 9), COUNT_UNIT)],
        );
        let rows = lead_credits(&set, &a, &[]);
        let mut t = Totals::default();
        t.add(&set, &rows, 1);
        let li = set.position("linear").unwrap();
        let linear = |dim: Dimension, basis: Basis| -> BTreeMap<String, i64> {
            t.credits
                .iter()
                .filter(|(k, _)| k.level == "contact" && k.dimension == dim && k.basis == basis)
                .map(|(k, v)| (k.value.clone(), v[li]))
                .collect()
        };
        assert_eq!(
            linear(Dimension::Channel, Basis::Captured),
            BTreeMap::from([("search".into(), 500), ("webinar".into(), 500)])
        );
        assert_eq!(
            linear(Dimension::Region, Basis::Converted),
            BTreeMap::from([("east".into(), 1000)])
        );
        // The capture day and the conversion day are different cells.
        let days: std::collections::BTreeSet<NaiveDate> = t.credits.keys().map(|k| k.day).collect();
        assert_eq!(days.len(), 2);
        t.add(&set, &rows, -1);
        t.prune();
        assert_eq!(t, Totals::default());
    }

    #[test]
    fn custom_models_follow_the_rule_based_ones_and_bad_weights_are_refused() {
        let w = PositionWeights {
            first: 5_000,
            last: 5_000,
            ..Default::default()
        };
        let set = ModelSet::new(24, 30, &[("half_half".into(), w)]).unwrap();
        assert_eq!(set.models.len(), 11);
        assert_eq!(set.position("half_half"), Some(10));
        assert_eq!(
            set.models[3].1,
            Model::TimeDecay {
                half_life_hours: 24
            }
        );
        assert_ne!(set.fingerprint(), ModelSet::default_set().fingerprint());
        let bad = PositionWeights {
            first: 1,
            ..Default::default()
        };
        assert!(ModelSet::new(24, 30, &[("bad".into(), bad)]).is_err());
    }
}
