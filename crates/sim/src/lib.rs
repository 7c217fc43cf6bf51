//! A seeded, realistic synthetic quarter of B2B lead events.
//!
//! [`generate`] turns a [`SimConfig`] into the events a tenant's marketing automation
//! (`marketo`) and CRM (`salesforce`) would send over a quarter of lead capture and the
//! months after it, in delivery order with retries and stragglers, plus the numbers a
//! correct ledger must report for them ([`Expected`]). It is a pure function: no I/O, no
//! clock, no global state, so the same config always gives byte-identical output and a
//! test or demo can assert exact funnel counts.
//!
//! Conversion rates and cycle times come from the field figures in `docs/DOMAIN.md`
//! (§Conversion rates, §Cycle lengths, §Segments): lead → opportunity ≈ 13 % in ≈ 84 days,
//! opportunity → deal ≈ 6 %, the per-channel figures for website, referral, webinar, social
//! and list/event/e-mail leads, SMB stage conversion ≈ 15 % and KA POC success ≈ 50 %. The
//! knobs that are not field figures are listed in `docs/DOMAIN.md`, §Modelling choices. See
//! [`channels`].
//!
//! # Layout
//! - [`config`]: [`SimConfig`], the knobs and their defaults.
//! - [`channels`]: the calibration table, one row per acquisition channel, citing figures.
//! - `population`: accounts, contacts, sales staff and capture times.
//! - `lead`: one lead's path through the lifecycle, cut at `as_of`.
//! - `subject`: what every lead of the quarter shares, and one lead to simulate.
//! - `capture`: the capture fact (contact, company, source with UTM/keyword/activity).
//! - `content`: the reasons, notes and feedback texts.
//! - `payments`: the receipts of a signed contract (deposit, delivery, retention).
//! - `spend`: what each channel cost per month (finance's statements, one restated).
//! - `delivery`: duplicates and late deliveries.
//! - `dist`: distributions and working-hours arithmetic.
//!
//! Randomness: every lead draws from its own ChaCha8 stream (`seed`, stream `index + 1`),
//! the population from stream 0 and the delivery order from the last stream, so changing
//! one lead's path does not reshuffle every other lead.

#![forbid(unsafe_code)]

pub mod channels;
pub mod config;

mod capture;
mod content;
mod delivery;
mod dist;
mod lead;
mod payments;
mod population;
mod spend;
mod subject;

use std::collections::BTreeMap;

use leadledger_api::pb;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use config::SimConfig;

/// A generated quarter.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// Events in DELIVERY order (what a client sends), duplicates included. Each has
    /// tenant_id, lead_id, occurred_at, source {system, event_id} and a payload set;
    /// event_id and recorded_at EMPTY/None (the server sets them).
    pub deliveries: Vec<pb::Event>,
    /// What a correct ledger reports after ingesting `deliveries`.
    pub expected: Expected,
}

impl Simulation {
    /// The deliveries that are facts about leads: without the spend statements, which are
    /// filed under a key of their own (loads that follow leads by their ids take these).
    pub fn lead_deliveries(self) -> Vec<pb::Event> {
        self.deliveries
            .into_iter()
            .filter(|e| !matches!(e.payload, Some(pb::event::Payload::SpendRecorded(_))))
            .collect()
    }
}

/// The ground truth of a simulation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// Leads captured (at or before `as_of`).
    pub leads: u64,
    /// Distinct `(source.system, source.event_id)`: deliveries minus duplicates.
    pub distinct_events: u64,
    /// channel -> number of leads that reached [captured, mql, sql, poc, signed] or a later
    /// main-line stage. Only channels with at least one lead appear.
    pub reached_by_channel: BTreeMap<String, [u64; 5]>,
    /// Sum over leads of their final Signed amount (CNY, in fen).
    pub signed_amount_minor: i64,
    /// Sum over leads of their payments received by `as_of` (CNY, in fen).
    pub collected_amount_minor: i64,
    /// channel -> spend stated by `as_of` (CNY, in fen), restatements replacing what they
    /// correct.
    pub spend_by_channel: BTreeMap<String, i64>,
}

/// Generates a quarter of lead events.
pub fn generate(cfg: &SimConfig) -> Simulation {
    let mut pop = stream(cfg.seed, 0);
    let ctx = subject::Ctx {
        cfg,
        quarter: cfg.quarter_tag(),
        staff: population::Staff::new(&mut pop),
    };
    let mut accounts = population::Accounts::default();
    let mut expected = Expected::default();
    let mut events = Vec::new();
    // (occurred_at, lead index, n-th event of the lead): the business-time order.
    let mut order = Vec::new();
    // Leads per channel and capture month, for the spend statements.
    let mut monthly: BTreeMap<(&'static str, chrono::NaiveDate), u64> = BTreeMap::new();

    for index in 0..cfg.leads {
        let captured_at = population::capture_time(&mut pop, cfg);
        let channel = pick_channel(&mut pop);
        let account = accounts.next(&mut pop);
        if captured_at > cfg.as_of {
            continue;
        }
        let mut rng = stream(cfg.seed, index as u64 + 1);
        let out = lead::simulate(
            &ctx,
            &mut rng,
            &subject::Lead {
                index,
                captured_at,
                channel,
                account,
            },
        );
        expected.leads += 1;
        let month = chrono::Datelike::with_day(&captured_at.date_naive(), 1).expect("a first day");
        *monthly.entry((channel.slug, month)).or_default() += 1;
        expected.signed_amount_minor += out.signed_amount_minor;
        expected.collected_amount_minor += out.collected_amount_minor;
        let reached = expected
            .reached_by_channel
            .entry(channel.slug.to_string())
            .or_insert([0; 5]);
        for r in reached.iter_mut().take(usize::from(out.max_rank)) {
            *r += 1;
        }
        for (n, e) in out.events.into_iter().enumerate() {
            let at = e.occurred_at.map_or(0, |t| t.seconds);
            order.push((at, index, n, events.len()));
            events.push(e);
        }
    }
    let (statements, spend_by_channel) =
        spend::statements(cfg, &monthly, &mut stream(cfg.seed, u64::MAX - 1));
    expected.spend_by_channel = spend_by_channel;
    for (k, e) in statements.into_iter().enumerate() {
        let at = e.occurred_at.map_or(0, |t| t.seconds);
        order.push((at, usize::MAX - k, 0, events.len()));
        events.push(e);
    }
    expected.distinct_events = events.len() as u64;

    order.sort_unstable();
    let mut slots: Vec<Option<pb::Event>> = events.into_iter().map(Some).collect();
    let by_time = order.iter().filter_map(|o| slots[o.3].take()).collect();
    let mut rng = stream(cfg.seed, u64::MAX);
    let deliveries = delivery::schedule(
        &mut rng,
        by_time,
        cfg.duplicate_rate.clamp(0.0, 1.0),
        cfg.late_rate.clamp(0.0, 1.0),
    );
    Simulation {
        deliveries,
        expected,
    }
}

/// The ChaCha8 stream `stream` of `seed`.
fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A channel drawn by volume share.
fn pick_channel(rng: &mut ChaCha8Rng) -> &'static channels::Channel {
    let i = dist::weighted_index(rng, channels::CHANNELS.iter().map(|c| c.share));
    &channels::CHANNELS[i]
}
