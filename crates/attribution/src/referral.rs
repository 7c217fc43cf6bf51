//! Referrals: a `ReferredBy` fact is a touch of the **referrer's channel** on the referred
//! lead's path (docs/ATTRIBUTION.md, "Referrals").
//!
//! The referrer is another lead, often in another partition of the log, so its channel is
//! not known where the fact is folded. A journey keeps its referrals apart
//! ([`Journey::referrals`]); [`resolve`] turns them into touchpoints once the referrers'
//! sources are known: at the referral's time, with the referrer's source channel and
//! campaign (its capture's), and the channel [`UNKNOWN_REFERRER`] while the referrer is not a
//! lead of the tenant or has no channel. A referral by a **customer** — the referrer's account
//! had a signed lead at the referral's time — is credited back to that account: channel
//! [`CUSTOMER_REFERRAL`], campaign the referring account's key. Resolving again replaces
//! what an earlier call added, so a journey is resolved against the sources of the moment it
//! is credited at.

use std::collections::HashMap;

use chrono::SubsecRound;

use crate::account::key_of;
use crate::touch::{Journey, Path, TouchKind, Touchpoint};
pub use crate::touch::{Referral, Source};

/// The channel of a referral whose referrer is unknown or has none.
pub const UNKNOWN_REFERRER: &str = "referral";

/// The channel of a referral by a customer (its campaign: the referring account's key).
pub const CUSTOMER_REFERRAL: &str = "customer_referral";

/// Puts `j`'s referrals on its path as touchpoints of kind [`TouchKind::Referral`], each
/// with the source `source_of` gives its referrer's root (`root_of`: the lead a merged
/// referrer now belongs to; the unknown referrer's channel for `None` or an empty channel).
/// A referral whose referrer's root is `j` itself (a merge joined them) is no touch.
/// Touchpoints an earlier call added are replaced.
pub fn resolve(
    j: &mut Journey,
    root_of: impl Fn(&str) -> String,
    source_of: impl Fn(&str) -> Option<Source>,
) {
    let has_old = j.path.touches.iter().any(|t| t.kind == TouchKind::Referral);
    if j.referrals.is_empty() && !has_old {
        return;
    }
    let mut touches: Vec<Touchpoint> = std::mem::take(&mut j.path.touches)
        .into_iter()
        .filter(|t| t.kind != TouchKind::Referral)
        .collect();
    for r in &j.referrals {
        let root = root_of(&r.referrer);
        if root == j.lead_id {
            // The referrer is now this lead's own group (a merge joined them): no one else's
            // word brought it.
            continue;
        }
        let source = source_of(&root);
        let (channel, campaign) = match source {
            // Compared as the store keeps times (microseconds), so the paths that read the
            // first signing from `leads` and the one that folds it agree.
            Some(s)
                if !s.account.is_empty()
                    && s.customer_since
                        .is_some_and(|since| since.trunc_subsecs(6) <= r.at.trunc_subsecs(6)) =>
            {
                (CUSTOMER_REFERRAL.to_string(), s.account)
            }
            Some(s) if !s.channel.is_empty() => (s.channel, s.campaign),
            _ => (UNKNOWN_REFERRER.to_string(), String::new()),
        };
        touches.push(Touchpoint {
            at: r.at,
            event_id: r.event_id,
            lead_id: j.lead_id.clone(),
            channel,
            campaign,
            keyword: String::new(),
            kind: TouchKind::Referral,
        });
    }
    j.path = Path::new(touches, std::mem::take(&mut j.path.milestones));
}

/// Resolves the referrals of `journeys` among themselves: a referrer is found by its lead id
/// (after `root_of`, which names the lead a merged referrer now belongs to), its source being
/// its journey's [`Journey::source`].
pub fn resolve_among(journeys: &mut [Journey], root_of: &HashMap<String, String>) {
    if journeys.iter().all(|j| j.referrals.is_empty()) {
        return;
    }
    // Each account's first signing: a referrer of a customer account refers as a customer.
    let mut signed: HashMap<String, chrono::DateTime<chrono::Utc>> = HashMap::new();
    for j in journeys.iter() {
        let key = key_of(j);
        if let (Some(at), true) = (j.path.milestones.signed_at, key.is_shared()) {
            let first = signed.entry(key.text()).or_insert(at);
            *first = (*first).min(at);
        }
    }
    let sources: HashMap<String, Source> = journeys
        .iter()
        .map(|j| {
            let account = key_of(j).text();
            let source = Source {
                customer_since: signed.get(&account).copied(),
                account,
                ..j.source.clone()
            };
            (j.lead_id.clone(), source)
        })
        .collect();
    for j in journeys.iter_mut().filter(|j| !j.referrals.is_empty()) {
        resolve(
            j,
            |referrer| {
                root_of
                    .get(referrer)
                    .map_or(referrer, String::as_str)
                    .to_string()
            },
            |root| sources.get(root).cloned(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::touch::Milestones;
    use chrono::{DateTime, TimeZone, Utc};
    use uuid::Uuid;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, d, 9, 0, 0).unwrap()
    }

    fn journey(lead: &str, channel: &str, referrals: &[(&str, u32)]) -> Journey {
        Journey {
            lead_id: lead.into(),
            source: Source {
                channel: channel.into(),
                campaign: format!("{channel}-q2"),
                ..Source::default()
            },
            path: Path::new(
                vec![Touchpoint {
                    at: day(1),
                    event_id: Uuid::from_u128(lead.len() as u128),
                    lead_id: lead.into(),
                    channel: channel.into(),
                    campaign: String::new(),
                    keyword: String::new(),
                    kind: TouchKind::Capture,
                }],
                Milestones::default(),
            ),
            referrals: referrals
                .iter()
                .enumerate()
                .map(|(i, (r, d))| Referral {
                    event_id: Uuid::from_u128(100 + i as u128),
                    at: day(*d),
                    referrer: (*r).into(),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn channels(j: &Journey) -> Vec<(&str, &str, TouchKind)> {
        j.path
            .touches
            .iter()
            .map(|t| (t.channel.as_str(), t.campaign.as_str(), t.kind))
            .collect()
    }

    #[test]
    fn a_referral_is_a_touch_of_the_referrers_channel() {
        let mut js = vec![
            journey("customer", "event", &[]),
            journey("new", "website", &[("customer", 3), ("stranger", 2)]),
        ];
        resolve_among(&mut js, &HashMap::new());
        assert_eq!(
            channels(&js[1]),
            [
                ("website", "", TouchKind::Capture),
                ("referral", "", TouchKind::Referral),
                ("event", "event-q2", TouchKind::Referral),
            ]
        );
        // The referrer's own path is untouched.
        assert_eq!(channels(&js[0]), [("event", "", TouchKind::Capture)]);
    }

    #[test]
    fn a_customers_referral_is_credited_to_its_account_from_its_first_signing() {
        let mut customer = journey("c1", "event", &[]);
        customer.company_domain = "cust.com".into();
        // A colleague at the same account signed on day 4.
        let mut colleague = journey("c2", "seo", &[]);
        colleague.company_domain = "cust.com".into();
        colleague.path.milestones.signed_at = Some(day(4));
        let mut js = vec![
            customer,
            colleague,
            journey("before", "website", &[("c1", 3)]),
            journey("after", "website", &[("c1", 5)]),
        ];
        resolve_among(&mut js, &HashMap::new());
        assert_eq!(
            channels(&js[2])[1],
            ("event", "event-q2", TouchKind::Referral)
        );
        assert_eq!(
            channels(&js[3])[1],
            (CUSTOMER_REFERRAL, "domain:cust.com", TouchKind::Referral)
        );
    }

    #[test]
    fn resolving_again_replaces_and_a_merged_referrer_is_found_through_its_survivor() {
        let mut js = vec![
            journey("survivor", "partner", &[]),
            journey("new", "website", &[("merged", 3)]),
        ];
        resolve_among(&mut js, &HashMap::new());
        assert_eq!(channels(&js[1])[1].0, "referral");
        let root = HashMap::from([("merged".to_string(), "survivor".to_string())]);
        resolve_among(&mut js, &root);
        assert_eq!(
            channels(&js[1]),
            [
                ("website", "", TouchKind::Capture),
                ("partner", "partner-q2", TouchKind::Referral)
            ]
        );
        // A referrer with no channel reads as the unknown referrer's.
        resolve(&mut js[1], str::to_string, |_| Some(Source::default()));
        assert_eq!(channels(&js[1])[1].0, UNKNOWN_REFERRER);
        // Merged with its referrer, a lead was referred by no one else.
        let root = HashMap::from([("merged".to_string(), "new".to_string())]);
        resolve_among(&mut js, &root);
        assert_eq!(channels(&js[1]), [("website", "", TouchKind::Capture)]);
    }
}
