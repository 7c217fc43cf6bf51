//! Multi-touch attribution over the lead log: which touches earned a conversion, and how much.
//!
//! Everything is computed from the same events the lifecycle fold reads, by plain functions:
//! no I/O, no clock, no global state. The same log and model always give the same credits,
//! and every conversion's credits sum **exactly** to its value, in integer units — revenue
//! in minor currency units, counts in milli-conversions ([`COUNT_UNIT`]).
//!
//! Flow: [`touch::journey`] reads a lead's touchpoints, milestones and conversions; a
//! conversion is credited on the lead's own path (contact level) or on its account's path
//! ([`account::account_path`]); [`models::weights`] gives each touch its relative weight;
//! [`split::split`] turns weights into integer credits. [`credit`] does the last three steps
//! for one conversion, [`attribute`] for every conversion of a kind. The data-driven models
//! are fitted on [`ChannelPath`]s ([`channel_paths`]) by [`markov::fit`] and
//! [`shapley::fit`] and then credit paths like any other model. `docs/ATTRIBUTION.md` states
//! every rule for a marketing-ops reader.
//!
//! # Layout
//! - [`touch`]: touchpoints, milestones (FT/LC/OC/CW), paths and journeys from the events.
//! - [`models`]: the models and the weight each gives a touch, including missing milestones.
//! - [`split`]: exact largest-remainder apportionment of a value by weights.
//! - [`markov`]: Markov-chain removal effects (order ≥ 1), transition-matrix export.
//! - [`shapley`]: Shapley values (exact up to 12 channels, seeded sampling above).
//! - [`account`]: account keys (explicit account ids, else company domains; the free-mail
//!   rule), account-level paths, the account scope (who stands for an account).
//! - [`referral`]: `ReferredBy` facts as touches of the referrer's channel.

#![forbid(unsafe_code)]

pub mod account;
pub mod markov;
pub mod models;
pub mod precompute;
pub mod referral;
pub mod shapley;
pub mod split;
pub mod touch;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use leadledger_domain::Event;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use account::Scope;
pub use models::{ChannelWeights, Model, PositionWeights};
pub use touch::{journey, Journey, Milestones, Path, TouchKind, Touchpoint};

/// One counted conversion in credit units: credits of count conversions are in
/// milli-conversions, so a lead reaching MQL over three touches credits 334 + 333 + 333 and
/// channel totals stay integers that add up to 1 000 × the number of leads.
pub const COUNT_UNIT: i64 = 1_000;

/// Why something could not be attributed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The conversion has no touchpoint at or before it (no capture, no touch): there is
    /// nothing to credit. [`attribute`] reports such conversions as unattributed.
    #[error("no touchpoint at or before the conversion")]
    EmptyPath,
    #[error("position weights must sum to 10000 basis points, not {0}")]
    WeightsSum(u64),
    #[error("the time-decay half-life must be at least one hour")]
    HalfLife,
    #[error("the Markov order must be at least 1")]
    MarkovOrder,
}

/// What is being credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ConversionKind {
    /// The lead reached MQL or beyond (one [`COUNT_UNIT`]).
    Mql,
    /// The lead reached SQL or beyond.
    Sql,
    /// The lead reached POC or beyond.
    Poc,
    /// The lead was signed (a count).
    Signed,
    /// The signed amount, in minor units of its currency.
    Revenue,
}

impl ConversionKind {
    pub const ALL: [ConversionKind; 5] = [
        ConversionKind::Mql,
        ConversionKind::Sql,
        ConversionKind::Poc,
        ConversionKind::Signed,
        ConversionKind::Revenue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConversionKind::Mql => "mql",
            ConversionKind::Sql => "sql",
            ConversionKind::Poc => "poc",
            ConversionKind::Signed => "signed",
            ConversionKind::Revenue => "revenue",
        }
    }
}

/// One conversion of one lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    pub lead_id: String,
    pub kind: ConversionKind,
    /// When the lead first reached the stage ("or beyond": a skipped stage is reached with
    /// the later one). Only touches at or before this time are credited.
    pub at: DateTime<Utc>,
    /// The value to credit: [`COUNT_UNIT`] for counts, the signed amount for revenue.
    pub value_minor: i64,
    /// The revenue currency (empty for counts). Credits are in the same currency.
    pub currency: String,
}

/// One touchpoint's share of one conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    /// Position on the path the conversion was credited on.
    pub index: usize,
    pub event_id: Uuid,
    pub lead_id: String,
    pub at: DateTime<Utc>,
    pub channel: String,
    pub campaign: String,
    pub keyword: String,
    /// May be 0 (e.g. the middle touches under first touch): every touch of the path is
    /// listed, so reports can show which touches a model ignored.
    pub amount_minor: i64,
}

/// Credits one conversion on `path` (the lead's or the account's full path; it is cut at
/// the conversion here). One credit per touchpoint at or before the conversion, summing
/// exactly to `conversion.value_minor`.
pub fn credit(conversion: &Conversion, path: &Path, model: &Model) -> Result<Vec<Credit>, Error> {
    let path = path.until(conversion.at);
    let parts = models::weights(model, &path)?;
    if path.is_empty() {
        return Err(Error::EmptyPath);
    }
    let amounts = split::split(conversion.value_minor, &parts);
    Ok(path
        .touches
        .into_iter()
        .zip(amounts)
        .enumerate()
        .map(|(index, (t, amount_minor))| Credit {
            index,
            event_id: t.event_id,
            lead_id: t.lead_id,
            at: t.at,
            channel: t.channel,
            campaign: t.campaign,
            keyword: t.keyword,
            amount_minor,
        })
        .collect())
}

/// Sums credits per channel.
pub fn channel_totals<'a>(credits: impl IntoIterator<Item = &'a Credit>) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for c in credits {
        *out.entry(c.channel.clone()).or_default() += c.amount_minor;
    }
    out
}

/// Reads the journeys of every lead in `events` (grouped by `lead_id`, in lead id order),
/// their referrals resolved among them ([`referral::resolve_among`], no merges).
pub fn journeys(events: &[Event]) -> Vec<Journey> {
    let mut out = touch::unresolved_journeys(events);
    referral::resolve_among(&mut out, &HashMap::new());
    out
}

/// Whose touches make up a conversion's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    /// The converting lead's own touches.
    Contact,
    /// The lead's own touches plus those of the other leads of its account that `scope`
    /// selects, in the `lookback_days` before the conversion (see [`account`]).
    Account {
        lookback_days: u32,
        #[serde(default)]
        scope: Scope,
    },
}

impl Level {
    /// Account level with the default lookback ([`account::DEFAULT_LOOKBACK_DAYS`]).
    pub fn account() -> Level {
        Level::Account {
            lookback_days: account::DEFAULT_LOOKBACK_DAYS,
            scope: Scope::AllContacts,
        }
    }
}

/// One conversion and its credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributed {
    pub conversion: Conversion,
    pub credits: Vec<Credit>,
}

/// The credits of every conversion of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub credited: Vec<Attributed>,
    /// Conversions without any touchpoint before them: their value is not on any channel.
    pub unattributed: Vec<Conversion>,
}

impl Attribution {
    /// Credit per channel over all credited conversions.
    pub fn by_channel(&self) -> BTreeMap<String, i64> {
        channel_totals(self.credited.iter().flat_map(|a| &a.credits))
    }
}

/// Credits every conversion of `kind` among `journeys` at `level` under `model`, in the
/// order of `journeys`. `journeys` must hold every lead of the tenant that can share an
/// account with a converting one (account level reads colleagues' touches from it).
pub fn attribute(
    journeys: &[Journey],
    kind: ConversionKind,
    level: Level,
    model: &Model,
) -> Result<Attribution, Error> {
    model.validate()?;
    let accounts = account::group(journeys);
    let mut out = Attribution::default();
    for j in journeys {
        let Some(conv) = j.conversion(kind) else {
            continue;
        };
        let path = level_path(journeys, &accounts, j, conv.at, level);
        match credit(conv, &path, model) {
            Ok(credits) => out.credited.push(Attributed {
                conversion: conv.clone(),
                credits,
            }),
            Err(Error::EmptyPath) => out.unattributed.push(conv.clone()),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn level_path(
    journeys: &[Journey],
    accounts: &BTreeMap<account::AccountKey, Vec<usize>>,
    lead: &Journey,
    at: DateTime<Utc>,
    level: Level,
) -> Path {
    match level {
        Level::Contact => lead.path.clone(),
        Level::Account {
            lookback_days,
            scope,
        } => {
            let members: Vec<&Journey> = accounts
                .get(&account::key_of(lead))
                .map(|ix| ix.iter().map(|&i| &journeys[i]).collect())
                .unwrap_or_default();
            let members = account::selected(&members, scope);
            account::account_path(&members, lead, at, Duration::days(i64::from(lookback_days)))
        }
    }
}

/// A channel sequence ending in a conversion or not: the input of the data-driven models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPath {
    pub channels: Vec<String>,
    pub converted: bool,
    /// The converted value (Shapley's worth); 0 for a path that did not convert.
    pub value_minor: i64,
}

/// The paths the data-driven models are fitted on, for conversions of `kind`.
///
/// - Contact level: one path per lead. A converting lead's path stops at its conversion; a
///   lead that never converted contributes all its touches, ending in "no conversion".
/// - Account level: one path per account (a free-mail lead is its own account). An account
///   converts when any of its leads does: its path is the account path of the earliest
///   conversion (ties: smaller lead id), and its value is the sum of its leads' conversion
///   values. An account that never converted contributes the touches of the leads the
///   level's scope selects, or of all its leads when it selects none.
///
/// Paths without any touch are left out: they say nothing about channels.
pub fn channel_paths(journeys: &[Journey], kind: ConversionKind, level: Level) -> Vec<ChannelPath> {
    let mut out = Vec::new();
    match level {
        Level::Contact => {
            for j in journeys {
                out.push(match j.conversion(kind) {
                    Some(c) => ChannelPath {
                        channels: j.path_for(c).channels(),
                        converted: true,
                        value_minor: c.value_minor,
                    },
                    None => ChannelPath {
                        channels: j.path.channels(),
                        converted: false,
                        value_minor: 0,
                    },
                });
            }
        }
        Level::Account { scope, .. } => {
            let accounts = account::group(journeys);
            for ix in accounts.values() {
                let members: Vec<&Journey> = ix.iter().map(|&i| &journeys[i]).collect();
                let first = members
                    .iter()
                    .filter_map(|j| j.conversion(kind).map(|c| (c.at, &c.lead_id, *j)))
                    .min_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
                out.push(match first {
                    Some((at, _, lead)) => ChannelPath {
                        channels: level_path(journeys, &accounts, lead, at, level)
                            .until(at)
                            .channels(),
                        converted: true,
                        value_minor: members
                            .iter()
                            .filter_map(|j| j.conversion(kind))
                            .map(|c| c.value_minor)
                            .sum(),
                    },
                    None => {
                        // The selected contacts' touches; an account with none selected keeps
                        // all its leads' (as a converting one keeps its converting lead's):
                        // dropping it would leave mostly converted paths to learn from.
                        let mut chosen = account::selected(&members, scope);
                        if chosen.is_empty() {
                            chosen = members.clone();
                        }
                        let all = chosen.into_iter().flat_map(|j| j.path.touches.clone());
                        ChannelPath {
                            channels: Path::new(all.collect(), Milestones::default()).channels(),
                            converted: false,
                            value_minor: 0,
                        }
                    }
                });
            }
        }
    }
    out.retain(|p| !p.channels.is_empty());
    out
}
