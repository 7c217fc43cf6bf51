//! The capture fact: who the lead is and exactly where it came from. Source traceability
//! is what attribution and the channel funnels stand on, so online leads carry their UTM
//! parameters and landing page, search leads their keyword, offline imports the activity
//! they came from, and referrals the referrer.

use leadledger_api::pb;
use rand::Rng;

use crate::dist::pick;
use crate::population::{self, PARTNERS};
use crate::subject::{Ctx, Lead};

/// The capture fact: contact, company, and where the lead came from.
pub(crate) fn captured(ctx: &Ctx<'_>, rng: &mut impl Rng, lead: &Lead<'_>) -> pb::LeadCaptured {
    let ch = lead.channel;
    let phone_only = match ch.slug {
        "bought_list" | "event" => 0.25,
        _ => 0.03,
    };
    let contact = population::contact(rng, lead.account, phone_only);
    let topic = *pick(rng, ch.topics);
    let campaign = ctx.campaign(ch, topic);
    let keyword = if ch.keywords.is_empty() {
        String::new()
    } else {
        pick(rng, ch.keywords).to_string()
    };
    let mut s = pb::LeadSource {
        channel: ch.slug.to_string(),
        campaign: campaign.clone(),
        medium: ch.medium.to_string(),
        keyword: keyword.clone(),
        ..Default::default()
    };
    if ch.online() {
        // Social campaigns are per platform, so the UTM source is the campaign's platform.
        s.utm_source = if ch.slug == "social" {
            topic.to_string()
        } else {
            pick(rng, ch.utm_sources).to_string()
        };
        s.utm_medium = ch.medium.to_string();
        s.utm_campaign = campaign.clone();
        s.utm_term = if ch.slug == "sem" {
            keyword
        } else {
            String::new()
        };
        s.utm_content = pick(
            rng,
            &["banner-a", "banner-b", "cta-trial", "cta-demo", "text-link"],
        )
        .to_string();
        let page = pick(
            rng,
            &[
                "trial",
                "demo",
                "pricing",
                "solutions/retail",
                "resources/whitepaper",
            ],
        );
        s.landing_page = format!(
            "https://www.example.com/{page}?utm_source={}&utm_medium={}&utm_campaign={campaign}",
            s.utm_source, s.utm_medium
        );
    }
    let quarter = &ctx.quarter;
    match ch.slug {
        "referral" => {
            s.referrer = if topic == "customer" {
                format!("customer:{}", referring_customer(rng))
            } else {
                format!("employee:emp-{:04}", rng.gen_range(1..2000))
            };
        }
        "event" => s.offline_activity_id = format!("evt-{quarter}-{topic}"),
        "partner" => {
            s.offline_activity_id = format!(
                "bd-{quarter}-ptn-{:02}-{:03}",
                rng.gen_range(1..=PARTNERS),
                rng.gen_range(1..60)
            );
        }
        "bought_list" => s.offline_activity_id = format!("list-{quarter}-{topic}"),
        _ => {}
    }
    pb::LeadCaptured {
        contact: Some(contact),
        company: Some(lead.account.to_proto()),
        source: Some(s),
        sealed_contact: None,
    }
}

/// A referring customer's domain (customers are not modelled as accounts of this quarter).
fn referring_customer(rng: &mut impl Rng) -> String {
    let names = [
        "hengtai-foods",
        "ruida-bank",
        "xinghe-tech",
        "jiahe-precision",
        "yunfan-edu",
    ];
    format!("{}.com", pick(rng, &names))
}
