//! The simulator against the server's own rules: every delivery validates, runs are
//! reproducible, `expected` is what the lifecycle fold computes, and the calibration holds.
//! The field figures the calibration tests check are in `docs/DOMAIN.md` (§Conversion rates,
//! §Cycle lengths, §Segments, §SLA norms).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use leadledger_api::convert::{event_from_proto, time_from_proto, Mode};
use leadledger_api::pb;
use leadledger_domain::event::Segment;
use leadledger_domain::{fold, ids, validate, Event, LeadState, Stage, Violations};
use leadledger_sim::{generate, SimConfig, Simulation};

fn config(seed: u64, leads: usize) -> SimConfig {
    SimConfig {
        seed,
        leads,
        ..SimConfig::default()
    }
}

/// Converts as the server does, with the event id the server would assign.
fn to_domain(e: &pb::Event) -> Event {
    let mut v = Violations::default();
    let mut d = event_from_proto(e, Mode::Request, "", &mut v)
        .unwrap_or_else(|| panic!("conversion failed: {v:?} for {e:?}"));
    d.event_id = ids::source_event_id(&d.tenant_id, &d.source.system, &d.source.event_id);
    d
}

/// Each lead's state, folded from the deliveries (duplicates and disorder included).
fn fold_all(sim: &Simulation) -> BTreeMap<String, LeadState> {
    let mut by_lead: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    // Spend statements are no lead's (`spend_is_stated_per_channel_and_month`).
    for e in sim.deliveries.iter().filter(|e| !is_spend(e)) {
        by_lead
            .entry(e.lead_id.clone())
            .or_default()
            .push(to_domain(e));
    }
    by_lead
        .into_iter()
        .map(|(lead, events)| (lead, fold(&events)))
        .collect()
}

#[test]
fn every_delivery_passes_server_validation() {
    let cfg = config(7, 2000);
    let sim = generate(&cfg);
    assert!(sim.deliveries.len() > 2000 * 4, "{}", sim.deliveries.len());
    for (i, e) in sim.deliveries.iter().enumerate() {
        assert!(e.event_id.is_empty() && e.recorded_at.is_none(), "#{i}");
        assert_eq!(e.tenant_id, "demo");
        let src = e.source.as_ref().expect("source");
        assert!(
            matches!(src.system.as_str(), "marketo" | "salesforce" | "kingdee"),
            "#{i}"
        );
        assert!(!src.event_id.is_empty());
        assert!(
            (e.lead_id.starts_with("L-") && e.lead_id.len() == 8)
                || (is_spend(e) && e.lead_id.starts_with("~spend/")),
            "{}",
            e.lead_id
        );
        let d = to_domain(e);
        let v = validate::event(&d, cfg.as_of);
        assert!(v.is_empty(), "#{i} {v:?}\n{e:?}");
        assert!(
            d.occurred_at >= cfg.start && d.occurred_at <= cfg.as_of,
            "#{i}"
        );
        // Marketing facts come from marketing automation, sales facts from the CRM.
        let marketing = matches!(
            d.payload.event_type(),
            "lead_captured" | "touch_recorded" | "mql_qualified" | "handed_off"
        );
        if marketing {
            assert_eq!(src.system, "marketo", "#{i}");
        }
    }
}

#[test]
fn same_seed_same_output_other_seed_other_output() {
    let a = generate(&config(11, 500));
    let b = generate(&config(11, 500));
    assert_eq!(a, b);
    let c = generate(&config(12, 500));
    assert_ne!(a.deliveries, c.deliveries);
    assert_ne!(a.expected, c.expected);
    // Source ids never collide across seeds.
    let ids = |s: &Simulation| -> BTreeSet<String> {
        s.deliveries
            .iter()
            .map(|e| e.source.as_ref().unwrap().event_id.clone())
            .collect()
    };
    assert!(ids(&a).is_disjoint(&ids(&c)));
}

#[test]
fn expected_matches_the_lifecycle_fold() {
    let cfg = config(3, 2000);
    let sim = generate(&cfg);
    let distinct: BTreeSet<(String, String)> = sim
        .deliveries
        .iter()
        .map(|e| {
            let s = e.source.as_ref().unwrap();
            (s.system.clone(), s.event_id.clone())
        })
        .collect();
    assert_eq!(sim.expected.distinct_events, distinct.len() as u64);
    let dups = sim.deliveries.len() - distinct.len();
    let dup_rate = dups as f64 / distinct.len() as f64;
    assert!((0.015..0.045).contains(&dup_rate), "duplicates {dup_rate}");
    // Some deliveries arrive before an earlier fact of the same lead.
    let mut last: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    let mut out_of_order = 0;
    for e in &sim.deliveries {
        let t = time_from_proto(e.occurred_at.as_ref().unwrap()).unwrap();
        let prev = last.entry(&e.lead_id).or_insert(t);
        if t < *prev {
            out_of_order += 1;
        }
        *prev = (*prev).max(t);
    }
    assert!(out_of_order > 0);

    let states = fold_all(&sim);
    assert_eq!(sim.expected.leads, states.len() as u64);
    let mut reached: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    let (mut signed, mut collected) = (0, 0);
    for st in states.values() {
        assert!(st.captured_at.is_some(), "every lead has its capture");
        let r = reached.entry(st.source.channel.clone()).or_insert([0; 5]);
        for (i, stage) in Stage::MAIN_LINE.into_iter().enumerate() {
            if st.reached(stage) {
                r[i] += 1;
            }
        }
        if st.reached(Stage::Signed) {
            assert_eq!(st.signed_currency, "CNY");
            signed += st.signed_amount_minor;
            assert!(st.collected_minor() <= st.signed_amount_minor);
            collected += st.collected_minor();
        } else {
            assert!(st.collected.is_empty(), "receipts only after a signature");
        }
    }
    assert_eq!(sim.expected.reached_by_channel, reached);
    assert_eq!(sim.expected.signed_amount_minor, signed);
    assert_eq!(sim.expected.collected_amount_minor, collected);
    assert!(signed > 0);
    // By `as_of` the deposits of most contracts are in, some deliveries, no retention yet.
    assert!(
        collected > signed / 10 && collected < signed * 9 / 10,
        "collected {collected} of {signed}"
    );
}

#[test]
fn nothing_after_as_of_and_leads_still_open() {
    let cfg = SimConfig {
        as_of: SimConfig::default().start + chrono::Duration::days(45),
        ..config(5, 1000)
    };
    let sim = generate(&cfg);
    assert!(sim.expected.leads < 1000 && sim.expected.leads > 300);
    for e in &sim.deliveries {
        let t = time_from_proto(e.occurred_at.as_ref().unwrap()).unwrap();
        assert!(t <= cfg.as_of);
    }
    let states = fold_all(&sim);
    let reached: u64 = sim.expected.reached_by_channel.values().map(|r| r[0]).sum();
    assert_eq!(reached, states.len() as u64);
}

/// Share `num / den` as a percentage, `NaN` when empty.
fn pct(num: u64, den: u64) -> f64 {
    100.0 * num as f64 / den as f64
}

#[test]
fn calibration_matches_the_field_figures() {
    let cfg = config(2026, 20_000);
    let sim = generate(&cfg);
    let states = fold_all(&sim);

    let reached = &sim.expected.reached_by_channel;
    let total = |i: usize| reached.values().map(|r| r[i]).sum::<u64>();
    println!("channel        leads    mql%   sql%  poc%/sql  signed%/sql  lead→deal%");
    for (ch, r) in reached {
        println!(
            "{ch:<12} {:>6} {:>7.1} {:>6.1} {:>9.1} {:>12.1} {:>11.2}",
            r[0],
            pct(r[1], r[0]),
            pct(r[2], r[0]),
            pct(r[3], r[2]),
            pct(r[4], r[2]),
            pct(r[4], r[0]),
        );
    }
    let lead_to_sql = pct(total(2), total(0));
    let sql_to_signed = pct(total(4), total(2));
    println!(
        "overall: lead→SQL {lead_to_sql:.1} %, SQL→signed {sql_to_signed:.1} %, lead→signed {:.2} %",
        pct(total(4), total(0))
    );
    assert!(
        (9.0..=17.0).contains(&lead_to_sql),
        "lead→SQL {lead_to_sql}"
    );
    assert!(
        (3.0..=10.0).contains(&sql_to_signed),
        "SQL→signed {sql_to_signed}"
    );
    let sql = |ch: &str| pct(reached[ch][2], reached[ch][0]);
    assert!(sql("website") > sql("webinar"), "website vs webinar");
    assert!(
        sql("webinar") > sql("bought_list"),
        "webinar vs bought_list"
    );
    let deal = |ch: &str| pct(reached[ch][4], reached[ch][0]);
    for ch in reached.keys() {
        assert!(deal(ch) <= deal("referral"), "{ch} beats referral");
    }

    let mut sql_days = Vec::new();
    let mut deal_days = Vec::new();
    let mut follow_up_hours = Vec::new();
    for st in states.values() {
        if let (Some(mql), Some(fu)) = (st.entered(Stage::Mql), st.first_follow_up_at) {
            follow_up_hours.push((fu - mql).num_seconds() as f64 / 3600.0);
        }
        let days = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| {
            a.zip(b)
                .map(|(a, b)| (b - a).num_seconds() as f64 / 86_400.0)
        };
        sql_days.extend(days(st.captured_at, st.entered(Stage::Sql)));
        deal_days.extend(days(st.entered(Stage::Sql), st.entered(Stage::Signed)));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "mean days lead→SQL {:.0}, SQL→signed {:.0} (cut at as_of)",
        mean(&sql_days),
        mean(&deal_days)
    );
    // Speed to lead: first follow-up around the 24 h target, with a slow tail.
    follow_up_hours.sort_by(f64::total_cmp);
    let median = follow_up_hours[follow_up_hours.len() / 2];
    let share = |f: &dyn Fn(f64) -> bool| {
        100.0 * follow_up_hours.iter().filter(|h| f(**h)).count() as f64
            / follow_up_hours.len() as f64
    };
    let within_24h = share(&|h| h <= 24.0);
    let over_72h = share(&|h| h > 72.0);
    println!(
        "first follow-up: median {median:.1} h, mean {:.1} h, {within_24h:.0} % within 24 h, {over_72h:.1} % over 72 h",
        mean(&follow_up_hours)
    );
    assert!((12.0..=36.0).contains(&median), "median follow-up {median}");
    assert!(
        (40.0..=75.0).contains(&within_24h),
        "within 24 h {within_24h}"
    );
    assert!((3.0..=20.0).contains(&over_72h), "over 72 h {over_72h}");
    assert!((60.0..=95.0).contains(&mean(&sql_days)));
    assert!((12.0..=26.0).contains(&mean(&deal_days)));
}

#[test]
fn segment_rates_match_the_field_figures() {
    // KA POCs are few (≈ 130 per 20k leads), so three runs are pooled to measure them.
    let mut ka = [0u64; 3]; // leads, closed POCs, signed
    let mut smb = [0u64; 3];
    for seed in 1..=3 {
        let sim = generate(&config(seed, 20_000));
        for st in fold_all(&sim).values() {
            let seg = match st.company.segment {
                Segment::Ka => &mut ka,
                _ => &mut smb,
            };
            seg[0] += 1;
            // POCs still running at `as_of` have no outcome yet and are not counted.
            let closed = matches!(st.stage, Some(Stage::Signed | Stage::Lost));
            if st.reached(Stage::Poc) && closed {
                seg[1] += 1;
            }
            if st.reached(Stage::Signed) {
                seg[2] += 1;
            }
        }
    }
    let ka_share = pct(ka[0], ka[0] + smb[0]);
    let ka_win = pct(ka[2], ka[1]);
    let smb_win = pct(smb[2], smb[1]);
    println!(
        "KA share {ka_share:.1} %, POC→signed KA {ka_win:.1} % ({} POCs), SMB {smb_win:.1} % ({} POCs)",
        ka[1], smb[1]
    );
    assert!((17.0..=23.0).contains(&ka_share), "KA share {ka_share}");
    assert!((40.0..=60.0).contains(&ka_win), "KA POC→signed {ka_win}");
    assert!((10.0..=20.0).contains(&smb_win), "SMB POC→signed {smb_win}");
}

/// Mean days from capture to `stage` per channel and overall, over leads that reached it.
fn mean_days(
    states: &BTreeMap<String, LeadState>,
    from: Stage,
    to: Stage,
) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for st in states.values() {
        if let (Some(a), Some(b)) = (st.entered(from), st.entered(to)) {
            let d = (b - a).num_seconds() as f64 / 86_400.0;
            for key in [st.source.channel.clone(), "*".to_string()] {
                let e = sums.entry(key).or_default();
                e.0 += d;
                e.1 += 1.0;
            }
        }
    }
    sums.into_iter().map(|(k, (s, n))| (k, s / n)).collect()
}

#[test]
fn cycle_times_match_the_field_figures_when_nothing_is_cut() {
    // A far `as_of` shows the intrinsic cycle times; the default cut hides the long ones.
    let cfg = SimConfig {
        as_of: SimConfig::default().start + chrono::Duration::days(1000),
        ..config(2026, 20_000)
    };
    let sim = generate(&cfg);
    let states = fold_all(&sim);
    let to_sql = mean_days(&states, Stage::Captured, Stage::Sql);
    let to_signed = mean_days(&states, Stage::Sql, Stage::Signed);
    let lead_to_deal = mean_days(&states, Stage::Captured, Stage::Signed);
    let reached = &sim.expected.reached_by_channel;
    let total = |i: usize| reached.values().map(|r| r[i]).sum::<u64>();
    println!(
        "uncut: lead→SQL {:.1} % in {:.0} days, SQL→signed {:.1} % in {:.0} days",
        pct(total(2), total(0)),
        to_sql["*"],
        pct(total(4), total(2)),
        to_signed["*"]
    );
    for (ch, d) in &lead_to_deal {
        println!(
            "  {ch:<12} days lead→SQL {:>5.0}  SQL→signed {:>5.0}  lead→signed {d:>5.0}",
            to_sql[ch], to_signed[ch]
        );
    }
    assert!(
        (78.0..=90.0).contains(&to_sql["*"]),
        "lead→SQL days {}",
        to_sql["*"]
    );
    assert!(
        (15.0..=22.0).contains(&to_signed["*"]),
        "SQL→signed days {}",
        to_signed["*"]
    );
    // Per-channel deal cycles (lead → SQL over all SQLs plus SQL → signed over all won
    // deals: a few dozen deals per channel are too few for a direct lead → signed mean).
    let cycle = |ch: &str| to_sql[ch] + to_signed[ch];
    assert!(
        (65.0..=90.0).contains(&cycle("website")),
        "website {}",
        cycle("website")
    );
    assert!(
        (85.0..=115.0).contains(&cycle("referral")),
        "referral {}",
        cycle("referral")
    );
    assert!(
        (32.0..=50.0).contains(&cycle("social")),
        "social {}",
        cycle("social")
    );
    for ch in to_signed.keys().filter(|c| *c != "*") {
        assert!(cycle(ch) >= cycle("social"), "{ch} faster than social");
    }
    let lead_to_sql = pct(total(2), total(0));
    assert!((12.0..=14.5).contains(&lead_to_sql), "{lead_to_sql}");
}

/// Partners sit on some of the leads headquarters hands them (no follow-up, no outcome), and
/// some partners far more than others: what the partner leakage report is for.
#[test]
fn partners_leak_leads_and_some_leak_more() {
    use pb::event::Payload as P;
    let sim = generate(&config(2026, 20_000));
    // Each lead's distinct facts in business-time order (deliveries repeat and disorder them).
    let mut by_lead: BTreeMap<&str, BTreeMap<(i64, i32, String), &pb::Event>> = BTreeMap::new();
    for e in &sim.deliveries {
        let t = e.occurred_at.as_ref().expect("occurred_at");
        let source = e.source.as_ref().expect("source").event_id.clone();
        by_lead
            .entry(e.lead_id.as_str())
            .or_default()
            .insert((t.seconds, t.nanos, source), e);
    }
    let by_lead: BTreeMap<&str, Vec<&pb::Event>> = by_lead
        .into_iter()
        .map(|(l, evs)| (l, evs.into_values().collect()))
        .collect();
    // partner → (leads handed to it, leads with nothing after the hand-off)
    let mut per_partner: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for events in by_lead.values() {
        let Some(i) = events
            .iter()
            .position(|e| matches!(&e.payload, Some(P::HandedOff(h)) if !h.partner_id.is_empty()))
        else {
            continue;
        };
        let Some(P::HandedOff(h)) = &events[i].payload else {
            unreachable!()
        };
        let answered = events[i + 1..].iter().any(|e| {
            matches!(
                e.payload,
                Some(
                    P::FollowUpLogged(_)
                        | P::SalesAccepted(_)
                        | P::SalesRejected(_)
                        | P::Recycled(_)
                        | P::Disqualified(_)
                )
            )
        });
        let entry = per_partner.entry(h.partner_id.clone()).or_default();
        entry.0 += 1;
        entry.1 += u32::from(!answered);
    }
    println!("partner → (handed, leaked): {per_partner:?}");
    assert_eq!(per_partner.len(), 12, "{per_partner:?}");
    let share = |p: &str| {
        let (n, leaked) = per_partner[p];
        f64::from(leaked) / f64::from(n)
    };
    let all: u32 = per_partner.values().map(|(_, l)| l).sum();
    let handed: u32 = per_partner.values().map(|(n, _)| n).sum();
    let overall = f64::from(all) / f64::from(handed);
    assert!((0.1..=0.4).contains(&overall), "overall leakage {overall}");
    assert!(
        share("ptn-12") > 2.0 * share("ptn-01"),
        "ptn-12 {} vs ptn-01 {}",
        share("ptn-12"),
        share("ptn-01")
    );
}

fn is_spend(e: &leadledger_api::pb::Event) -> bool {
    matches!(
        e.payload,
        Some(leadledger_api::pb::event::Payload::SpendRecorded(_))
    )
}

#[test]
fn spend_is_stated_per_channel_and_month() {
    let sim = generate(&config(7, 2000));
    // The statements recorded last per channel and period, as the read model keeps them.
    let mut latest: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for e in sim.deliveries.iter().filter(|e| is_spend(e)) {
        let Some(leadledger_api::pb::event::Payload::SpendRecorded(s)) = &e.payload else {
            unreachable!()
        };
        assert_eq!(e.lead_id, leadledger_domain::spend::key(&s.channel, ""));
        assert_eq!(s.currency, "CNY");
        assert!(s.amount_minor > 0 && s.period_start.ends_with("-01"));
        let at = e.occurred_at.map(|t| t.seconds).unwrap();
        let slot = latest
            .entry((s.channel.clone(), s.period_start.clone()))
            .or_insert((at, s.amount_minor));
        if at >= slot.0 {
            *slot = (at, s.amount_minor);
        }
    }
    let mut by_channel: BTreeMap<String, i64> = BTreeMap::new();
    for ((channel, _), (_, amount)) in &latest {
        *by_channel.entry(channel.clone()).or_default() += amount;
    }
    assert_eq!(by_channel, sim.expected.spend_by_channel);
    // Three months of every channel with leads, paid search dearest per lead.
    assert_eq!(latest.len(), 3 * sim.expected.reached_by_channel.len());
    let per_lead = |ch: &str| by_channel[ch] as f64 / sim.expected.reached_by_channel[ch][0] as f64;
    assert!(per_lead("sem") > 5.0 * per_lead("email"));
}
