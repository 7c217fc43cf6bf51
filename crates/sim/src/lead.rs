//! One lead's path through the lifecycle, as the facts its source systems would report.
//!
//! The path is drawn forward in business time: capture, nurture touches, MQL, handoff,
//! follow-up, the sales decision, then POC and the deal or a side exit. Every decision is
//! drawn whether or not it happens before `as_of`, and [`Timeline`] simply stops writing at
//! `as_of`, so a lead captured late in the window is cut mid-flight exactly like the same
//! lead read from a live pipeline, and the conversion draws do not depend on the cut.

use chrono::{DateTime, Duration, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::{self, event::Payload as P, ActivityType, PocOutcome};
use rand::Rng;

use crate::capture;
use crate::channels::{
    self, CLOSE_AFTER_SUCCESS, KA_CYCLE_FACTOR, NURTURE_MIX, POC_SUCCESS_KA, POC_SUCCESS_SMB,
    SALES_DECISION_DAYS, SMB_CYCLE_FACTOR,
};
use crate::config::SimConfig;
use crate::content;
use crate::dist::{
    chance, days, hours, lognormal_mean, lognormal_median, minutes, normal, pick, weighted,
    working_time,
};
use crate::payments;
use crate::population::{Rep, PARTNERS, SOLUTION_ENGINEERS};
use crate::subject::{Ctx, Lead};

/// Source system of marketing-side facts (capture, touches, MQL, handoff).
pub(crate) const MARKETO: &str = "marketo";
/// Source system of sales-side facts.
pub(crate) const SALESFORCE: &str = "salesforce";
/// Source system of payments received.
pub(crate) const FINANCE: &str = "kingdee";

/// Log-scale spread of the nurture time (capture → MQL).
const NURTURE_SIGMA: f64 = 0.6;
/// Median hours from handoff to the first follow-up for a median rep, before the move into
/// working hours; after it the median is ≈ 22 h and about half meet the 24 h SLA.
const FOLLOW_UP_MEDIAN_HOURS: f64 = 12.0;
/// Log-scale spread of follow-up delays.
const FOLLOW_UP_SIGMA: f64 = 0.8;
/// Share of handed-off leads nobody looks at for 5..30 days (the 3–6 months of silence
/// marketing complains of, `docs/DOMAIN.md`, §The business, in its milder everyday form).
const FORGOTTEN_RATE: f64 = 0.03;
/// Speed to lead (`docs/DOMAIN.md`, §Speed to lead; this effect is a modelling choice, far
/// milder than the field figure): the accept rate is multiplied by `1 - SPEED_EFFECT * z`
/// (clamped to 0.4..1.6), `z` being the standardised follow-up delay draw. The multiplier has
/// mean 1, so calibration holds while faster follow-ups convert visibly better.
const SPEED_EFFECT: f64 = 0.25;
/// Share of SMB leads of other channels headquarters distributes to a partner.
const PARTNER_DISTRIBUTION: f64 = 0.10;
/// Partners sit on leads they do not want instead of rejecting them (the loss of leads
/// headquarters hands to partners is a figure to watch, `docs/DOMAIN.md`, §Partners; the
/// rates here are modelling choices). Of the leads partner `ptn-k`
/// would reject, it leaves `PARTNER_LEAK_FIRST + PARTNER_LEAK_STEP × (k − 1)` untouched (no
/// follow-up, no outcome): 10 % for ptn-01 up to 65 % for ptn-12, so the leakage report has
/// partners to tell apart. Only would-be rejections leak, so the funnel is unchanged.
const PARTNER_LEAK_FIRST: f64 = 0.10;
const PARTNER_LEAK_STEP: f64 = 0.05;

/// A point of a [`Timeline`] to rewind to.
#[derive(Debug, Clone, Copy)]
struct Mark {
    events: usize,
    n: u32,
    last: Option<DateTime<Utc>>,
    open: bool,
}

/// The facts of one lead (in business-time order) and what they add up to.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub events: Vec<pb::Event>,
    /// Highest main-line rank reached (1 captured .. 5 signed).
    pub max_rank: u8,
    pub signed_amount_minor: i64,
    /// Payments received by `as_of` (CNY, fen).
    pub collected_amount_minor: i64,
}

/// The lead id for a lead index, e.g. `L-000123`.
pub(crate) fn lead_id(index: usize) -> String {
    format!("L-{:06}", index + 1)
}

/// Writes a lead's facts in business-time order, each at least a minute after the previous
/// one (so the fold's `(occurred_at, event_id)` order is the causal order), and nothing
/// after `as_of`.
struct Timeline<'c> {
    cfg: &'c SimConfig,
    index: usize,
    lead_id: String,
    n: u32,
    last: Option<DateTime<Utc>>,
    open: bool,
    out: Outcome,
}

impl<'c> Timeline<'c> {
    fn new(cfg: &'c SimConfig, index: usize) -> Self {
        Timeline {
            cfg,
            index,
            lead_id: lead_id(index),
            n: 0,
            last: None,
            open: true,
            out: Outcome::default(),
        }
    }

    /// The time of the last written fact.
    fn now(&self) -> DateTime<Utc> {
        self.last.unwrap_or(self.cfg.start)
    }

    /// Writes a fact at `at` (or just after the previous one) and returns its time.
    fn push(&mut self, at: DateTime<Utc>, system: &str, payload: P) -> DateTime<Utc> {
        let at = self.last.map_or(at, |l| at.max(l + Duration::minutes(1)));
        if !self.open || at > self.cfg.as_of {
            self.open = false;
            return at;
        }
        self.n += 1;
        let rank = match &payload {
            P::LeadCaptured(_) => 1,
            P::MqlQualified(_) => 2,
            P::SalesAccepted(_) => 3,
            P::PocStarted(_) => 4,
            P::Signed(s) => {
                self.out.signed_amount_minor = s.amount_minor;
                5
            }
            P::PaymentCollected(p) => {
                self.out.collected_amount_minor += p.amount_minor;
                0
            }
            _ => 0,
        };
        self.out.max_rank = self.out.max_rank.max(rank);
        self.out.events.push(pb::Event {
            tenant_id: self.cfg.tenant.clone(),
            lead_id: self.lead_id.clone(),
            occurred_at: Some(time_to_proto(at)),
            source: Some(pb::SourceRef {
                system: system.to_string(),
                event_id: format!("{}-{}-{}", self.cfg.seed, self.index + 1, self.n),
            }),
            schema_version: 1,
            payload: Some(payload),
            ..Default::default()
        });
        self.last = Some(at);
        at
    }

    /// Where the timeline stands, to go back to with [`Timeline::rewind`].
    fn mark(&self) -> Mark {
        Mark {
            events: self.out.events.len(),
            n: self.n,
            last: self.last,
            open: self.open,
        }
    }

    /// Forgets every fact written since `m` (facts that rank nothing: follow-ups, feedback).
    fn rewind(&mut self, m: Mark) {
        self.out.events.truncate(m.events);
        self.n = m.n;
        self.last = m.last;
        self.open = m.open;
    }
}

/// Simulates one lead.
pub(crate) fn simulate(ctx: &Ctx<'_>, rng: &mut impl Rng, lead: &Lead<'_>) -> Outcome {
    let ch = lead.channel;
    let mut tl = Timeline::new(ctx.cfg, lead.index);
    let capture = P::LeadCaptured(capture::captured(ctx, rng, lead));
    let t0 = tl.push(lead.captured_at, MARKETO, capture);

    if !chance(rng, ch.mql_rate) {
        // Never qualified: some nurture touches; some rows turn out to be invalid early on.
        if chance(rng, ch.invalid_rate) {
            let at = t0 + days(lognormal_mean(rng, 5.0, 0.8));
            let n = rng.gen_range(0..=1);
            touches(ctx, rng, &mut tl, t0, at, n);
            let (code, reason) = *pick(rng, content::INVALID_REASONS);
            let dq = pb::Disqualified {
                reason: reason.to_string(),
                code: code as i32,
                rep_id: String::new(),
            };
            tl.push(at, MARKETO, P::Disqualified(dq));
        } else {
            let until = t0 + days(rng.gen_range(14.0..120.0));
            let n = rng.gen_range(0..=4);
            touches(ctx, rng, &mut tl, t0, until, n);
        }
        return tl.out;
    }

    // Nurture until MQL; the rest of the lead → opportunity time is the sales handoff.
    let nurture = lognormal_mean(
        rng,
        ch.lead_to_opp_days - SALES_DECISION_DAYS,
        NURTURE_SIGMA,
    );
    let mql_at = t0 + days(nurture);
    let n = rng.gen_range(1..=3) + (nurture / 30.0) as usize;
    touches(ctx, rng, &mut tl, t0, mql_at, n.min(8));
    let score = (ch.mql_score + 90.0 * normal(rng)).clamp(400.0, 1000.0) as u32;
    let reason = pick(rng, content::MQL_REASONS).to_string();
    let mql_at = tl.push(
        mql_at,
        MARKETO,
        P::MqlQualified(pb::MqlQualified { score, reason }),
    );

    // Handoff, routed by region and segment; partner leads and some SMB leads go to a
    // partner as well.
    let (team, rep) = ctx.staff.assign(rng, lead.account);
    let to_partner =
        ch.slug == "partner" || (!lead.account.ka && chance(rng, PARTNER_DISTRIBUTION));
    let partner = to_partner.then(|| rng.gen_range(1..=PARTNERS));
    let handoff = pb::HandedOff {
        team: team.to_string(),
        queue: if to_partner { "partner" } else { "inbound" }.to_string(),
        rep_id: rep.id.clone(),
        partner_id: partner.map_or(String::new(), |k| format!("ptn-{k:02}")),
    };
    let handoff_at = tl.push(
        mql_at + minutes(lognormal_median(rng, 15.0, 1.0)),
        MARKETO,
        P::HandedOff(handoff),
    );
    let handed_off = tl.mark();

    // First follow-up: around the 24 h target, slower reps slower, a slow tail.
    let z = normal(rng);
    let mut delay = FOLLOW_UP_MEDIAN_HOURS * rep.slowness * (FOLLOW_UP_SIGMA * z).exp();
    if chance(rng, FORGOTTEN_RATE) {
        delay += 24.0 * rng.gen_range(5.0..30.0);
    }
    let follow_up_at = working_time(handoff_at + hours(delay), rng);
    let activity = *weighted(
        rng,
        &[
            (ActivityType::Call, 0.55),
            (ActivityType::Message, 0.25),
            (ActivityType::Email, 0.15),
            (ActivityType::Meeting, 0.05),
        ],
    );
    let note = pick(rng, content::FOLLOW_UP_NOTES).to_string();
    let follow_up_at = tl.push(
        follow_up_at,
        SALESFORCE,
        P::FollowUpLogged(pb::FollowUpLogged {
            activity_type: activity as i32,
            rep_id: rep.id.clone(),
            note,
        }),
    );
    if chance(rng, rep.diligence) {
        feedback(
            &mut tl,
            rep,
            pb::Stage::Mql,
            follow_up_at + minutes(rng.gen_range(5.0..120.0)),
            rng,
        );
    }

    // The sales decision, against the 48 h accept/reject SLA.
    let decided_at = working_time(follow_up_at + days(lognormal_median(rng, 1.5, 0.7)), rng);
    let speed = (1.0 - SPEED_EFFECT * z).clamp(0.4, 1.6);
    if !chance(rng, ch.sql_rate() * speed) {
        if let Some(k) = partner {
            let leak = PARTNER_LEAK_FIRST + PARTNER_LEAK_STEP * (k - 1) as f64;
            if chance(rng, leak) {
                // The partner never followed up and never answered.
                tl.rewind(handed_off);
                return tl.out;
            }
        }
        rejected(ctx, rng, &mut tl, rep, decided_at);
        return tl.out;
    }
    let sql_at = tl.push(
        decided_at,
        SALESFORCE,
        P::SalesAccepted(pb::SalesAccepted {
            rep_id: rep.id.clone(),
        }),
    );
    if chance(rng, rep.diligence.max(0.6)) {
        feedback(
            &mut tl,
            rep,
            pb::Stage::Sql,
            working_time(sql_at + hours(rng.gen_range(1.0..48.0)), rng),
            rng,
        );
    }
    opportunity(rng, &mut tl, lead, rep, sql_at);
    tl.out
}

/// `n` nurture touches spread over `[from, to]`.
fn touches(
    ctx: &Ctx<'_>,
    rng: &mut impl Rng,
    tl: &mut Timeline<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    n: usize,
) {
    let span = (to - from).num_seconds().max(1);
    let mut at: Vec<i64> = (0..n).map(|_| rng.gen_range(0..span)).collect();
    at.sort_unstable();
    for offset in at {
        let slug = *weighted(rng, &NURTURE_MIX);
        let ch = channels::by_slug(slug).unwrap_or(&channels::CHANNELS[0]);
        let topic = *pick(rng, ch.topics);
        let touch = pb::TouchRecorded {
            channel: ch.slug.to_string(),
            campaign: ctx.campaign(ch, topic),
            touch_type: *pick(rng, ch.touch_types) as i32,
            content_id: format!("{}-{topic}", ch.campaign_prefix),
            keyword: if ch.keywords.is_empty() {
                String::new()
            } else {
                pick(rng, ch.keywords).to_string()
            },
        };
        tl.push(
            from + Duration::seconds(offset),
            MARKETO,
            P::TouchRecorded(touch),
        );
    }
}

/// Stage feedback: each field filled with the rep's diligence, so completeness grades reps.
fn feedback(
    tl: &mut Timeline<'_>,
    rep: &Rep,
    stage: pb::Stage,
    at: DateTime<Utc>,
    rng: &mut impl Rng,
) {
    let mut field = |i: usize| {
        if chance(rng, rep.diligence) {
            pick(rng, content::FEEDBACK[i]).to_string()
        } else {
            String::new()
        }
    };
    let fb = pb::FeedbackRecorded {
        stage: stage as i32,
        rep_id: rep.id.clone(),
        business_situation: field(0),
        trigger: field(1),
        timeline: field(2),
        risks: field(3),
        competitors: field(4),
        progress: field(5),
        commercial: field(6),
    };
    tl.push(at, SALESFORCE, P::FeedbackRecorded(fb));
}

/// Sales sent the MQL back: some return to the public pool, a few are invalid, the rest
/// stay in marketing nurture.
fn rejected(
    ctx: &Ctx<'_>,
    rng: &mut impl Rng,
    tl: &mut Timeline<'_>,
    rep: &Rep,
    at: DateTime<Utc>,
) {
    let (code, _, text) = *weighted_reject(rng);
    let at = tl.push(
        at,
        SALESFORCE,
        P::SalesRejected(pb::SalesRejected {
            reason: code as i32,
            text: text.to_string(),
            rep_id: rep.id.clone(),
        }),
    );
    let x = rng.gen::<f64>();
    if x < 0.35 {
        let when = working_time(at + days(rng.gen_range(7.0..30.0)), rng);
        let (code, reason) = *pick(rng, content::RECYCLE_AFTER_REJECT);
        let recycled = pb::Recycled {
            reason: reason.to_string(),
            code: code as i32,
            rep_id: rep.id.clone(),
        };
        tl.push(when, SALESFORCE, P::Recycled(recycled));
    } else if x < 0.43 {
        let when = working_time(at + days(rng.gen_range(1.0..10.0)), rng);
        let (code, reason) = *pick(rng, content::INVALID_REASONS);
        let dq = pb::Disqualified {
            reason: reason.to_string(),
            code: code as i32,
            rep_id: rep.id.clone(),
        };
        tl.push(when, SALESFORCE, P::Disqualified(dq));
    } else {
        let n = rng.gen_range(0..=2);
        let now = tl.now();
        touches(ctx, rng, tl, now, now + days(60.0), n);
    }
}

fn weighted_reject(rng: &mut impl Rng) -> &'static (pb::RejectReason, f64, &'static str) {
    let i = crate::dist::weighted_index(rng, content::REJECTIONS.iter().map(|r| r.1));
    &content::REJECTIONS[i]
}

/// An accepted lead: some reach a POC, which the segment mostly decides; the rest are lost,
/// go stale back to the pool, or are still open.
fn opportunity(
    rng: &mut impl Rng,
    tl: &mut Timeline<'_>,
    lead: &Lead<'_>,
    rep: &Rep,
    sql_at: DateTime<Utc>,
) {
    let ch = lead.channel;
    let ka = lead.account.ka;
    let cycle = ch.opp_to_deal_days
        * if ka {
            KA_CYCLE_FACTOR
        } else {
            SMB_CYCLE_FACTOR
        };
    if !chance(rng, ch.poc_rate()) {
        let end = sql_at + days(lognormal_mean(rng, cycle * 1.5, 0.6));
        follow_ups(tl, rep, sql_at, end, rng.gen_range(1..=3), rng);
        let x = rng.gen::<f64>();
        if x < 0.55 {
            let (code, reason) = *pick(rng, content::LOST_EARLY);
            let lost = pb::Lost {
                reason: reason.to_string(),
                competitor: competitor(rng),
                code: code as i32,
                rep_id: rep.id.clone(),
            };
            tl.push(working_time(end, rng), SALESFORCE, P::Lost(lost));
        } else if x < 0.80 {
            let (code, reason) = *pick(rng, content::RECYCLE_STALE);
            let recycled = pb::Recycled {
                reason: reason.to_string(),
                code: code as i32,
                rep_id: String::new(),
            };
            let at = working_time(end + days(rng.gen_range(20.0..45.0)), rng);
            tl.push(at, SALESFORCE, P::Recycled(recycled));
        }
        return;
    }

    // SQL → POC start ≈ 30 % of the cycle, the POC ≈ 45 %, closing ≈ 25 %.
    let poc_at = working_time(sql_at + days(lognormal_mean(rng, cycle * 0.30, 0.5)), rng);
    follow_ups(tl, rep, sql_at, poc_at, 1, rng);
    let owner_id = format!("se-{:02}", rng.gen_range(1..=SOLUTION_ENGINEERS));
    let use_case = pick(rng, content::USE_CASES).to_string();
    let poc_at = tl.push(
        poc_at,
        SALESFORCE,
        P::PocStarted(pb::PocStarted { owner_id, use_case }),
    );

    let done_at = working_time(poc_at + days(lognormal_mean(rng, cycle * 0.45, 0.4)), rng);
    let success = chance(rng, if ka { POC_SUCCESS_KA } else { POC_SUCCESS_SMB });
    let outcome = if success {
        PocOutcome::Success
    } else if chance(rng, 0.7) {
        PocOutcome::Failure
    } else {
        PocOutcome::Abandoned
    };
    let notes = match outcome {
        PocOutcome::Success => "use case proven on customer data",
        PocOutcome::Failure => "acceptance criteria not met",
        _ => "customer stopped the POC",
    };
    let done_at = tl.push(
        done_at,
        SALESFORCE,
        P::PocCompleted(pb::PocCompleted {
            outcome: outcome as i32,
            notes: notes.to_string(),
        }),
    );
    if chance(rng, rep.diligence.max(0.5)) {
        feedback(
            tl,
            rep,
            pb::Stage::Poc,
            done_at + hours(rng.gen_range(1.0..24.0)),
            rng,
        );
    }

    let close_at = working_time(done_at + days(lognormal_mean(rng, cycle * 0.25, 0.5)), rng);
    if success && chance(rng, CLOSE_AFTER_SUCCESS) {
        let yuan = if ka {
            lognormal_median(rng, 600_000.0, 0.7).clamp(80_000.0, 20_000_000.0)
        } else {
            lognormal_median(rng, 48_000.0, 0.6).clamp(5_000.0, 600_000.0)
        };
        // Contracts are priced in hundreds of yuan; amounts are in fen.
        let amount_minor = ((yuan / 100.0).round() as i64) * 100 * 100;
        let signed = pb::Signed {
            amount_minor,
            currency: "CNY".to_string(),
            contract_id: format!("CT-{}-{:06}", tl.cfg.seed, lead.index + 1),
        };
        let signed_at = tl.push(close_at, SALESFORCE, P::Signed(signed));
        let industry = lead.account.industry();
        for (n, (at, amount)) in payments::receipts(amount_minor, signed_at, industry, rng)
            .into_iter()
            .enumerate()
        {
            let payment = pb::PaymentCollected {
                amount_minor: amount,
                currency: "CNY".to_string(),
                payment_id: format!("RC-{}-{:06}-{}", tl.cfg.seed, lead.index + 1, n + 1),
                contract_id: format!("CT-{}-{:06}", tl.cfg.seed, lead.index + 1),
            };
            tl.push(working_time(at, rng), FINANCE, P::PaymentCollected(payment));
        }
    } else {
        let (code, reason) = *pick(rng, content::LOST_AFTER_POC);
        let lost = pb::Lost {
            reason: reason.to_string(),
            competitor: competitor(rng),
            code: code as i32,
            rep_id: rep.id.clone(),
        };
        tl.push(close_at, SALESFORCE, P::Lost(lost));
    }
}

/// `n` follow-ups spread over `[from, to]`.
fn follow_ups(
    tl: &mut Timeline<'_>,
    rep: &Rep,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    n: usize,
    rng: &mut impl Rng,
) {
    // The first 80 % of the span: a follow-up precedes the next milestone, not its minute.
    let span = ((to - from).num_seconds() * 4 / 5).max(1);
    let mut at: Vec<i64> = (0..n).map(|_| rng.gen_range(0..span)).collect();
    at.sort_unstable();
    for offset in at {
        let when = working_time(from + Duration::seconds(offset), rng);
        let activity = *pick(
            rng,
            &[
                ActivityType::Meeting,
                ActivityType::Call,
                ActivityType::Visit,
                ActivityType::Email,
            ],
        );
        let note = pick(rng, content::OPPORTUNITY_NOTES).to_string();
        tl.push(
            when,
            SALESFORCE,
            P::FollowUpLogged(pb::FollowUpLogged {
                activity_type: activity as i32,
                rep_id: rep.id.clone(),
                note,
            }),
        );
    }
}

/// A competitor name, known on about half of lost deals.
fn competitor(rng: &mut impl Rng) -> String {
    if chance(rng, 0.5) {
        pick(rng, content::COMPETITORS).to_string()
    } else {
        String::new()
    }
}
