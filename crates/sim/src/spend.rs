//! What each channel cost: one `SpendRecorded` per channel and month of the capture window,
//! stated by finance a few days after the month ends, priced at the channel's cost per lead
//! times the leads it brought that month (±15 %), and one statement restated a week later (an
//! agency's corrected invoice), which replaces the first. The costs per lead are modelling
//! choices (`docs/DOMAIN.md`, §Modelling choices), set so paid search and events are dear and
//! e-mail and bought lists cheap, as practitioners describe them.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};
use leadledger_api::pb::{self, event::Payload as P};
use rand::Rng;

use crate::config::SimConfig;
use crate::lead::FINANCE;

/// Cost per lead in CNY by channel slug.
fn cost_per_lead(channel: &str) -> f64 {
    match channel {
        "sem" => 380.0,
        "event" => 850.0,
        "webinar" => 260.0,
        "social" => 150.0,
        "partner" => 120.0,
        "website" => 60.0,
        "seo" => 45.0,
        "referral" => 30.0,
        "bought_list" => 25.0,
        _ => 15.0,
    }
}

/// The statements for leads counted per (channel, first day of the capture month), in time
/// order, and each channel's spend once the restatement replaced what it corrects (CNY fen).
pub(crate) fn statements(
    cfg: &SimConfig,
    leads: &BTreeMap<(&'static str, NaiveDate), u64>,
    rng: &mut impl Rng,
) -> (Vec<pb::Event>, BTreeMap<String, i64>) {
    let mut out = Vec::new();
    let mut by_channel: BTreeMap<String, i64> = BTreeMap::new();
    let mut restated = false;
    for (&(channel, month), &n) in leads {
        let yuan = n as f64 * cost_per_lead(channel) * rng.gen_range(0.85..1.15);
        let amount = (yuan.round() as i64) * 100;
        let next = month + Months::new(1);
        let period_end = next - Days::new(1);
        let stated = at(next + Days::new(3));
        if stated > cfg.as_of {
            continue;
        }
        let id = format!("spend-{}-{channel}-{}", cfg.seed, month.format("%Y-%m"));
        out.push(statement(
            cfg, channel, month, period_end, amount, stated, &id,
        ));
        let mut last = amount;
        // The first paid-search month is invoiced again, 4 % higher.
        if channel == "sem" && !restated && stated + chrono::Duration::days(7) <= cfg.as_of {
            restated = true;
            last = amount / 100 * 104;
            let again = stated + chrono::Duration::days(7);
            out.push(statement(
                cfg,
                channel,
                month,
                period_end,
                last,
                again,
                &format!("{id}-r1"),
            ));
        }
        *by_channel.entry(channel.to_string()).or_default() += last;
    }
    out.sort_by_key(|e| e.occurred_at.map(|t| t.seconds));
    (out, by_channel)
}

fn at(day: NaiveDate) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(day.year(), day.month(), day.day(), 10, 0, 0)
        .single()
        .expect("a valid day")
}

fn statement(
    cfg: &SimConfig,
    channel: &str,
    start: NaiveDate,
    end: NaiveDate,
    amount_minor: i64,
    stated: DateTime<Utc>,
    id: &str,
) -> pb::Event {
    pb::Event {
        tenant_id: cfg.tenant.clone(),
        lead_id: leadledger_domain::spend::key(channel, ""),
        occurred_at: Some(leadledger_api::convert::time_to_proto(stated)),
        source: Some(pb::SourceRef {
            system: FINANCE.to_string(),
            event_id: id.to_string(),
        }),
        schema_version: 1,
        payload: Some(P::SpendRecorded(pb::SpendRecorded {
            channel: channel.to_string(),
            campaign: String::new(),
            period_start: start.format("%Y-%m-%d").to_string(),
            period_end: end.format("%Y-%m-%d").to_string(),
            amount_minor,
            currency: "CNY".to_string(),
        })),
        ..Default::default()
    }
}
