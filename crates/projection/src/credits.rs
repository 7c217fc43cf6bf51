//! What the credits worker writes, as plain values: which leads a step recomputes, their
//! fresh credit rows, and what changed against the stored ones.
//!
//! A lead's account-level credits depend on its colleagues' touchpoints (the leads of its
//! account: the same explicit account id, else the same employer domain), so a lead whose touchpoints or account changed makes its colleagues
//! (under the account it was stored under and the one it is in now) be recomputed too. A
//! stage change alone does not. Rows are compared with the stored ones and only the changed
//! leads are written, with the totals moved by "new − old" ([`changes`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use leadledger_attribution::account::{self, AccountKey};
use leadledger_attribution::precompute::{lead_credits, LeadCredits, ModelSet, Totals};
use leadledger_attribution::Journey;

/// `(tenant, lead)`.
pub type LeadKey = (String, String);

/// FNV-1a over the lead's touchpoints (stable across builds, unlike `DefaultHasher`): a
/// changed fingerprint means its colleagues' account-level paths may have changed.
pub fn touches_fingerprint(j: &Journey) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    for t in &j.path.touches {
        eat(t.event_id.as_bytes());
        eat(&t.at.timestamp_micros().to_le_bytes());
        eat(t.channel.as_bytes());
        eat(t.campaign.as_bytes());
        eat(t.keyword.as_bytes());
    }
    h as i64
}

/// The accounts a step reads, from the queued leads' journeys and their stored
/// `(account, fingerprint)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    /// `(tenant, account)` whose every member is recomputed: the accounts a queued lead left
    /// or joined, or whose touchpoints it changed.
    pub recompute: BTreeSet<(String, String)>,
    /// `(tenant, account)` whose members are read but not recomputed: the queued leads'
    /// own company accounts (a lead's account-level path needs its colleagues).
    pub read: BTreeSet<(String, String)>,
}

/// Which accounts the step over `queued` (their journeys) recomputes and reads, given each
/// queued lead's stored `(account, fingerprint)`.
pub fn accounts(
    queued: &HashMap<LeadKey, Journey>,
    stored: &HashMap<LeadKey, (String, i64)>,
) -> Accounts {
    let mut recompute = BTreeSet::new();
    let mut current = BTreeSet::new();
    for (lead, j) in queued {
        let k = account::key_of(j).text();
        if AccountKey::text_is_shared(&k) {
            current.insert((lead.0.clone(), k.clone()));
        }
        let before = stored.get(lead);
        if before.is_some_and(|(bk, bh)| *bk == k && *bh == touches_fingerprint(j)) {
            continue;
        }
        for key in before.map(|(bk, _)| bk.clone()).into_iter().chain([k]) {
            if AccountKey::text_is_shared(&key) {
                recompute.insert((lead.0.clone(), key));
            }
        }
    }
    let read = current.difference(&recompute).cloned().collect();
    Accounts { recompute, read }
}

/// The credit rows of every lead of `targets`, each computed with its colleagues among
/// `journeys` (which must hold every member of the targets' accounts); rows sorted. A target
/// without a journey gets no rows.
pub fn fresh(
    set: &ModelSet,
    journeys: &HashMap<LeadKey, Journey>,
    targets: &BTreeSet<LeadKey>,
) -> BTreeMap<LeadKey, LeadCredits> {
    let mut accounts: BTreeMap<(String, AccountKey), Vec<&Journey>> = BTreeMap::new();
    for ((t, _), j) in journeys {
        accounts
            .entry((t.clone(), account::key_of(j)))
            .or_default()
            .push(j);
    }
    let mut out = BTreeMap::new();
    for ((t, key), members) in &accounts {
        for j in members {
            if !targets.contains(&(t.clone(), j.lead_id.clone())) {
                continue;
            }
            let colleagues: &[&Journey] = if key.is_shared() { members } else { &[] };
            let mut rows = lead_credits(set, j, colleagues);
            rows.conversions.sort();
            rows.credits.sort();
            out.insert((t.clone(), j.lead_id.clone()), rows);
        }
    }
    // A target with no journey (a lead merged into a survivor, whose journey holds its
    // touches) has no credits: its stored ones go.
    for k in targets {
        out.entry(k.clone()).or_default();
    }
    out
}

/// What a step writes: the leads whose rows changed (with their new rows), and the totals'
/// changes per tenant ("new − old").
pub fn changes<'a>(
    set: &ModelSet,
    fresh: &'a BTreeMap<LeadKey, LeadCredits>,
    stored: &HashMap<LeadKey, LeadCredits>,
) -> (
    Vec<(&'a LeadKey, &'a LeadCredits)>,
    BTreeMap<String, Totals>,
) {
    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    let mut changed = Vec::new();
    let empty = LeadCredits::default();
    for (lead, new) in fresh {
        let before = stored.get(lead).unwrap_or(&empty);
        if before == new {
            continue;
        }
        let t = totals.entry(lead.0.clone()).or_default();
        t.add(set, before, -1);
        t.add(set, new, 1);
        changed.push((lead, new));
    }
    (changed, totals)
}

/// Adds `totals` into `sink` (a bulk rebuild writes every total once, at the end).
pub fn merge_totals(sink: &mut BTreeMap<String, Totals>, totals: BTreeMap<String, Totals>) {
    for (tenant, t) in totals {
        let into = sink.entry(tenant).or_default();
        for (k, v) in t.credits {
            let cell = into.credits.entry(k).or_insert_with(|| vec![0; v.len()]);
            for (a, b) in cell.iter_mut().zip(v) {
                *a += b;
            }
        }
        for (k, v) in t.periods {
            let p = into.periods.entry(k).or_default();
            p.conversions += v.conversions;
            p.unattributed += v.unattributed;
            p.value_minor += v.value_minor;
        }
    }
}
