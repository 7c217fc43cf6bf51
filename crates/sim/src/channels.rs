//! The calibration table: per-channel volume, conversion and cycle time, from the field
//! figures of a pipeline study of several hundred B2B companies (`docs/DOMAIN.md`,
//! §Conversion rates and §Cycle lengths). Volume shares are modelling choices
//! (`docs/DOMAIN.md`, §Channel mix).
//!
//! The study reports two numbers per channel: *lead → opportunity* (our captured → SQL) and
//! *opportunity → deal* (SQL → signed), plus cycle times. The table stores exactly those,
//! so each row can be checked against its source figure; the stage probabilities the
//! simulator draws from are derived:
//!
//! - captured → MQL = [`Channel::mql_rate`] (a modelling choice: how much of the lead →
//!   opportunity loss happens in marketing rather than at the sales handoff);
//! - MQL → SQL = `lead_to_opp / mql_rate` ([`Channel::sql_rate`]);
//! - SQL → POC = `opp_to_deal / AVG_POC_TO_SIGNED` ([`Channel::poc_rate`]): the segment, not
//!   the channel, decides whether a POC closes (KA ≈ 50 %, SMB ≈ 15 %, the field rates of
//!   `docs/DOMAIN.md`, §Segments), so
//!   channel quality shows up as how many opportunities get far enough to prove value.
//!
//! Field figures reproduced (weighted by [`Channel::share`]): lead → opportunity ≈ 13 % in
//! ≈ 84 days, opportunity → deal ≈ 6 % in ≈ 18 days.

use leadledger_api::pb::TouchType;

/// Share of key accounts among leads (the rest are SMB). A modelling choice
/// (`docs/DOMAIN.md`, §Modelling choices).
pub const KA_SHARE: f64 = 0.20;
/// A KA proof of concept proves the use case this often (KA project success ≥ 50 %,
/// `docs/DOMAIN.md`, §Segments, once multiplied by [`CLOSE_AFTER_SUCCESS`]).
pub const POC_SUCCESS_KA: f64 = 0.55;
/// An SMB proof of concept succeeds this often (SMB stage conversion ≈ 15 %,
/// `docs/DOMAIN.md`, §Segments, once multiplied by [`CLOSE_AFTER_SUCCESS`]).
pub const POC_SUCCESS_SMB: f64 = 0.17;
/// A successful POC is signed this often; the rest die on price or procurement.
pub const CLOSE_AFTER_SUCCESS: f64 = 0.90;
/// POC → signed averaged over segments (segment is independent of the channel).
pub const AVG_POC_TO_SIGNED: f64 = KA_SHARE * POC_SUCCESS_KA * CLOSE_AFTER_SUCCESS
    + (1.0 - KA_SHARE) * POC_SUCCESS_SMB * CLOSE_AFTER_SUCCESS;
/// KA deals take longer than SMB deals. With KA ≈ 45 % of won deals (they win far more
/// often), 0.45 × 1.3 + 0.55 × 0.75 ≈ 1, so won deals keep the channel's mean cycle.
pub const KA_CYCLE_FACTOR: f64 = 1.3;
/// See [`KA_CYCLE_FACTOR`].
pub const SMB_CYCLE_FACTOR: f64 = 0.75;
/// Mean days from MQL to the accept/reject decision: handoff (minutes), first follow-up
/// (≈ 1 day against a 24 h SLA, with a slow tail) and the decision (≈ 2 days against a
/// 48 h SLA; both norms in `docs/DOMAIN.md`, §SLA norms). Subtracted from the lead →
/// opportunity time to get the nurture time.
pub const SALES_DECISION_DAYS: f64 = 3.5;

/// One acquisition channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Channel {
    /// The channel slug written to `LeadSource.channel`.
    pub slug: &'static str,
    /// Share of lead volume.
    pub share: f64,
    /// Captured → MQL.
    pub mql_rate: f64,
    /// Captured → SQL ("lead → opportunity").
    pub lead_to_opp: f64,
    /// SQL → signed ("opportunity → deal").
    pub opp_to_deal: f64,
    /// Mean days from capture to SQL.
    pub lead_to_opp_days: f64,
    /// Mean days from SQL to signature, for won deals.
    pub opp_to_deal_days: f64,
    /// Share of never-qualified leads found invalid (fake numbers, students, competitors).
    pub invalid_rate: f64,
    /// Mean lead score at qualification.
    pub mql_score: f64,
    /// Campaign-name part after the quarter, e.g. `"webinar"` in `2026q2-webinar-ai`.
    pub campaign_prefix: &'static str,
    /// Campaign topics; a campaign is `{quarter}-{campaign_prefix}-{topic}`.
    pub topics: &'static [&'static str],
    /// `LeadSource.medium` / `utm_medium`.
    pub medium: &'static str,
    /// UTM sources; empty for offline channels (no UTM parameters).
    pub utm_sources: &'static [&'static str],
    /// Search keywords (SEM/SEO); empty when the channel has none.
    pub keywords: &'static [&'static str],
    /// The kinds of touch this channel produces.
    pub touch_types: &'static [TouchType],
}

impl Channel {
    /// MQL → SQL (sales accepts the handed-off lead).
    pub fn sql_rate(&self) -> f64 {
        self.lead_to_opp / self.mql_rate
    }

    /// SQL → POC.
    pub fn poc_rate(&self) -> f64 {
        self.opp_to_deal / AVG_POC_TO_SIGNED
    }

    /// Captured → signed.
    pub fn lead_to_deal(&self) -> f64 {
        self.lead_to_opp * self.opp_to_deal
    }

    /// Whether the channel is online (UTM parameters on capture).
    pub fn online(&self) -> bool {
        !self.utm_sources.is_empty()
    }
}

const SEARCH_KEYWORDS: &[&str] = &[
    "crm系统",
    "销售线索管理",
    "营销自动化",
    "客户管理软件",
    "lead management",
    "销售漏斗分析",
    "scrm",
];

/// The calibration table. Shares sum to 1. Figures per channel: `docs/DOMAIN.md`,
/// §Conversion rates and §Cycle lengths; channels without a study figure sit near the
/// averages.
pub const CHANNELS: [Channel; 10] = [
    // Company website: 31.3 % lead → opportunity, the highest; 5 % of those won; ≈ 75 days
    // (58 days to SQL + 17 to signature).
    Channel {
        slug: "website",
        share: 0.16,
        mql_rate: 0.55,
        lead_to_opp: 0.313,
        opp_to_deal: 0.05,
        lead_to_opp_days: 58.0,
        opp_to_deal_days: 17.0,
        invalid_rate: 0.08,
        mql_score: 700.0,
        campaign_prefix: "website",
        topics: &["trial", "demo-request", "pricing"],
        medium: "organic",
        utm_sources: &["direct", "baidu", "bing"],
        keywords: &[],
        touch_types: &[TouchType::Visit, TouchType::Form, TouchType::Download],
    },
    // Paid search: near the 13 % / 6 % averages.
    Channel {
        slug: "sem",
        share: 0.11,
        mql_rate: 0.35,
        lead_to_opp: 0.12,
        opp_to_deal: 0.05,
        lead_to_opp_days: 100.0,
        opp_to_deal_days: 18.0,
        invalid_rate: 0.10,
        mql_score: 620.0,
        campaign_prefix: "sem",
        topics: &["brand", "crm-generic", "competitor"],
        medium: "cpc",
        utm_sources: &["baidu", "bing", "sogou"],
        keywords: SEARCH_KEYWORDS,
        touch_types: &[TouchType::AdClick, TouchType::Visit],
    },
    // Organic search and content: near the averages.
    Channel {
        slug: "seo",
        share: 0.10,
        mql_rate: 0.35,
        lead_to_opp: 0.14,
        opp_to_deal: 0.06,
        lead_to_opp_days: 110.0,
        opp_to_deal_days: 18.0,
        invalid_rate: 0.08,
        mql_score: 640.0,
        campaign_prefix: "seo",
        topics: &["blog", "guides"],
        medium: "organic",
        utm_sources: &["baidu", "bing", "google"],
        keywords: SEARCH_KEYWORDS,
        touch_types: &[TouchType::Visit, TouchType::Download],
    },
    // Social: ≈ 40 days lead → deal, the fastest (26 + 14).
    Channel {
        slug: "social",
        share: 0.08,
        mql_rate: 0.25,
        lead_to_opp: 0.08,
        opp_to_deal: 0.06,
        lead_to_opp_days: 26.0,
        opp_to_deal_days: 14.0,
        invalid_rate: 0.12,
        mql_score: 600.0,
        campaign_prefix: "social",
        topics: &["wechat", "linkedin", "zhihu"],
        medium: "social",
        utm_sources: &["wechat", "linkedin", "zhihu"],
        keywords: &[],
        touch_types: &[TouchType::AdClick, TouchType::Visit],
    },
    // Webinars: 17.8 % lead → opportunity, 2.5 % opportunity → deal.
    Channel {
        slug: "webinar",
        share: 0.10,
        mql_rate: 0.45,
        lead_to_opp: 0.178,
        opp_to_deal: 0.025,
        lead_to_opp_days: 110.0,
        opp_to_deal_days: 20.0,
        invalid_rate: 0.06,
        mql_score: 660.0,
        campaign_prefix: "webinar",
        topics: &["ai", "retail-digital", "finance-risk"],
        medium: "webinar",
        utm_sources: &["newsletter", "wechat", "partner-site"],
        keywords: &[],
        touch_types: &[TouchType::Webinar],
    },
    // Corporate events: under 0.1 % lead → deal, and under 20 % of opportunities close won
    // (6 % × 1.5 % = 0.09 %).
    Channel {
        slug: "event",
        share: 0.10,
        mql_rate: 0.30,
        lead_to_opp: 0.06,
        opp_to_deal: 0.015,
        lead_to_opp_days: 110.0,
        opp_to_deal_days: 20.0,
        invalid_rate: 0.10,
        mql_score: 600.0,
        campaign_prefix: "event",
        topics: &["shanghai-summit", "beijing-salon", "shenzhen-expo"],
        medium: "offline",
        utm_sources: &[],
        keywords: &[],
        touch_types: &[TouchType::Event],
    },
    // Referrals: 3.6 % lead → deal, the best source; ≈ 97 days (20 % × 18 %; 78 + 19).
    Channel {
        slug: "referral",
        share: 0.04,
        mql_rate: 0.50,
        lead_to_opp: 0.20,
        opp_to_deal: 0.18,
        lead_to_opp_days: 78.0,
        opp_to_deal_days: 19.0,
        invalid_rate: 0.03,
        mql_score: 760.0,
        campaign_prefix: "referral",
        topics: &["customer", "employee"],
        medium: "referral",
        utm_sources: &[],
        keywords: &[],
        touch_types: &[TouchType::Call],
    },
    // Partner BD imports: under 20 % of opportunities from partner referrals close won.
    Channel {
        slug: "partner",
        share: 0.06,
        mql_rate: 0.45,
        lead_to_opp: 0.15,
        opp_to_deal: 0.12,
        lead_to_opp_days: 110.0,
        opp_to_deal_days: 20.0,
        invalid_rate: 0.08,
        mql_score: 680.0,
        campaign_prefix: "partner",
        topics: &["bd-import", "si-cobrand"],
        medium: "partner",
        utm_sources: &[],
        keywords: &[],
        touch_types: &[TouchType::Call, TouchType::Event],
    },
    // Bought lists: under 0.1 % lead → deal (2.5 % × 3 % = 0.075 %), many invalid rows.
    Channel {
        slug: "bought_list",
        share: 0.12,
        mql_rate: 0.10,
        lead_to_opp: 0.025,
        opp_to_deal: 0.03,
        lead_to_opp_days: 120.0,
        opp_to_deal_days: 20.0,
        invalid_rate: 0.30,
        mql_score: 560.0,
        campaign_prefix: "list",
        topics: &["industry-db", "expo-attendees"],
        medium: "list",
        utm_sources: &[],
        keywords: &[],
        touch_types: &[TouchType::Email, TouchType::Call],
    },
    // E-mail campaigns: under 0.1 % lead → deal (4 % × 2 % = 0.08 %).
    Channel {
        slug: "email",
        share: 0.13,
        mql_rate: 0.15,
        lead_to_opp: 0.04,
        opp_to_deal: 0.02,
        lead_to_opp_days: 110.0,
        opp_to_deal_days: 20.0,
        invalid_rate: 0.12,
        mql_score: 580.0,
        campaign_prefix: "email",
        topics: &["newsletter", "product-launch"],
        medium: "email",
        utm_sources: &["newsletter", "edm"],
        keywords: &[],
        touch_types: &[TouchType::Email],
    },
];

/// The channel with this slug.
pub fn by_slug(slug: &str) -> Option<&'static Channel> {
    CHANNELS.iter().find(|c| c.slug == slug)
}

/// Channels of nurture touches after capture (e-mail and the website dominate), by weight.
/// A modelling choice (`docs/DOMAIN.md`, §Channel mix).
pub(crate) const NURTURE_MIX: [(&str, f64); 7] = [
    ("email", 0.35),
    ("website", 0.25),
    ("webinar", 0.12),
    ("social", 0.10),
    ("sem", 0.08),
    ("event", 0.05),
    ("seo", 0.05),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn weighted_opp() -> f64 {
        CHANNELS.iter().map(|c| c.share * c.lead_to_opp).sum()
    }

    #[test]
    fn probabilities_are_probabilities_and_shares_sum_to_one() {
        let total: f64 = CHANNELS.iter().map(|c| c.share).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        for c in &CHANNELS {
            for p in [c.mql_rate, c.sql_rate(), c.poc_rate(), c.invalid_rate] {
                assert!((0.0..=1.0).contains(&p), "{}: {p}", c.slug);
            }
            // The speed-to-lead effect multiplies the accept rate by up to 1.6.
            assert!(c.sql_rate() * 1.6 <= 1.0, "{}", c.slug);
            assert!(c.lead_to_opp_days > SALES_DECISION_DAYS);
            assert!(!c.topics.is_empty() && !c.touch_types.is_empty());
        }
        let ka_poc_to_signed = POC_SUCCESS_KA * CLOSE_AFTER_SUCCESS;
        assert!((0.45..=0.55).contains(&ka_poc_to_signed));
        let smb = POC_SUCCESS_SMB * CLOSE_AFTER_SUCCESS;
        assert!((0.13..=0.17).contains(&smb));
    }

    #[test]
    fn table_reproduces_the_field_averages() {
        let opp = weighted_opp();
        assert!((0.12..=0.14).contains(&opp), "lead → opportunity {opp}");
        let deals: f64 = CHANNELS.iter().map(|c| c.share * c.lead_to_deal()).sum();
        let opp_to_deal = deals / opp;
        assert!(
            (0.05..=0.07).contains(&opp_to_deal),
            "opportunity → deal {opp_to_deal}"
        );
        let days: f64 = CHANNELS
            .iter()
            .map(|c| c.share * c.lead_to_opp * c.lead_to_opp_days)
            .sum::<f64>()
            / opp;
        assert!(
            (80.0..=88.0).contains(&days),
            "lead → opportunity days {days}"
        );
        let deal_days: f64 = CHANNELS
            .iter()
            .map(|c| c.share * c.lead_to_deal() * c.opp_to_deal_days)
            .sum::<f64>()
            / deals;
        assert!(
            (16.0..=20.0).contains(&deal_days),
            "opportunity → deal days {deal_days}"
        );
        let won_ka = KA_SHARE * POC_SUCCESS_KA;
        let won_ka_share = won_ka / (won_ka + (1.0 - KA_SHARE) * POC_SUCCESS_SMB);
        let factor = won_ka_share * KA_CYCLE_FACTOR + (1.0 - won_ka_share) * SMB_CYCLE_FACTOR;
        assert!((factor - 1.0).abs() < 0.03, "{factor}");
    }

    #[test]
    fn table_reproduces_the_channel_figures() {
        let c = |s| by_slug(s).unwrap();
        // Website: the highest lead → opportunity, 5 % won, ~75 days.
        assert!(CHANNELS
            .iter()
            .all(|x| x.lead_to_opp <= c("website").lead_to_opp));
        assert!((c("website").lead_to_opp_days + c("website").opp_to_deal_days - 75.0).abs() < 3.0);
        // Referral: the best lead → deal, 3.6 %, ~97 days.
        assert!((c("referral").lead_to_deal() - 0.036).abs() < 1e-9);
        assert!(CHANNELS
            .iter()
            .all(|x| x.lead_to_deal() <= c("referral").lead_to_deal()));
        assert!(
            (c("referral").lead_to_opp_days + c("referral").opp_to_deal_days - 97.0).abs() < 3.0
        );
        // Social: the fastest lead → deal, ~40 days.
        let cycle = |x: &Channel| x.lead_to_opp_days + x.opp_to_deal_days;
        assert!((cycle(c("social")) - 40.0).abs() < 3.0);
        assert!(CHANNELS.iter().all(|x| cycle(x) >= cycle(c("social"))));
        // Webinar: 17.8 % / 2.5 %.
        assert_eq!(
            (c("webinar").lead_to_opp, c("webinar").opp_to_deal),
            (0.178, 0.025)
        );
        // Lists, events, e-mail: under 0.1 % lead → deal; partners under 20 % won.
        for s in ["bought_list", "event", "email"] {
            assert!(c(s).lead_to_deal() < 0.001, "{s}");
        }
        assert!(c("partner").opp_to_deal < 0.2);
    }
}
