//! `RevenueEquation` end to end (issue 17 item 5): a simulated quarter (with its receipts)
//! plus crafted leads — a deposit before the contract, receipts above it, a receipt in
//! another currency, a contract in USD, a receipt on a lead never signed, a receipt sent
//! twice, a lead with no capture — through ingest; then every group's counts and amounts
//! compared with an independent replay of each lead's timeline as `GetLead` returns it,
//! and every group's factors checked to multiply to its collected revenue exactly. Then
//! every figure of `Funnel` and `RevenueEquation` is opened: `ListLeads` with the filter it
//! maps to lists as many leads as the figure counts (issue 17 item 8).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use leadledger_api::convert::{time_from_proto, time_to_proto};
use leadledger_api::pb::{self, event::Payload as P, query_service_client::QueryServiceClient};
use leadledger_e2e::events::{accepted, at, captured, event, signed};
use leadledger_e2e::workload::{every_lead, quarter, TENANT as T};
use leadledger_e2e::TestEnv;
use tonic::transport::Channel;

const SEED: u64 = 31;
const LEADS: usize = 1500;

/// One lead as the replay sees it.
#[derive(Debug, Clone)]
struct Lead {
    channel: String,
    segment: String,
    captured_at: Option<DateTime<Utc>>,
    sql: bool,
    /// The latest contract: currency, amount.
    contract: Option<(String, i64)>,
    /// Receipts by currency.
    receipts: BTreeMap<String, i64>,
}

/// Every lead of the tenant, replayed from its timeline (ordered as the fold orders it).
async fn replay(q: &mut QueryServiceClient<Channel>) -> anyhow::Result<Vec<Lead>> {
    let mut out = Vec::new();
    for got in every_lead(q).await? {
        let lead = got.lead.expect("a lead");
        let mut l = Lead {
            channel: String::new(),
            segment: String::new(),
            captured_at: None,
            sql: false,
            contract: None,
            receipts: BTreeMap::new(),
        };
        for entry in &got.timeline {
            let e = entry.event.as_ref().expect("a known event");
            let when = e.occurred_at.as_ref().and_then(time_from_proto).unwrap();
            match e.payload.as_ref().expect("a payload") {
                P::LeadCaptured(c) if l.captured_at.is_none() => {
                    l.captured_at = Some(when);
                    l.channel = c.source.clone().unwrap_or_default().channel;
                    l.segment = match c.company.clone().unwrap_or_default().segment() {
                        pb::Segment::Ka => "KA",
                        pb::Segment::Smb => "SMB",
                        pb::Segment::Unspecified => "",
                    }
                    .into();
                }
                P::SalesAccepted(_) | P::PocStarted(_) => l.sql = true,
                P::Signed(s) => {
                    l.sql = true;
                    l.contract = Some((s.currency.clone(), s.amount_minor));
                }
                P::PaymentCollected(p) => {
                    *l.receipts.entry(p.currency.clone()).or_default() += p.amount_minor;
                }
                _ => {}
            }
        }
        // The lead's own figure, as `GetLead` shows it.
        let collected = l
            .contract
            .as_ref()
            .map_or(0, |(c, _)| l.receipts.get(c).copied().unwrap_or(0));
        assert_eq!(lead.collected_amount_minor, collected, "{}", lead.lead_id);
        out.push(l);
    }
    Ok(out)
}

/// A capture range `[from, to)`.
type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// leads, sql, won, signed, collected, won in another currency.
type Figures = [i64; 6];

fn key_of(l: &Lead, dims: &[pb::FunnelDimension]) -> Vec<String> {
    dims.iter()
        .map(|d| match d {
            pb::FunnelDimension::Channel => l.channel.clone(),
            pb::FunnelDimension::Segment => l.segment.clone(),
            pb::FunnelDimension::CaptureMonth => l
                .captured_at
                .map(|t| format!("{}-{:02}", t.year(), t.month()))
                .unwrap_or_default(),
            other => unreachable!("not used here: {other:?}"),
        })
        .collect()
}

fn expected(
    leads: &[Lead],
    dims: &[pb::FunnelDimension],
    currency: &str,
    range: Range,
) -> BTreeMap<Vec<String>, Figures> {
    let mut want: BTreeMap<Vec<String>, Figures> = BTreeMap::new();
    for l in leads {
        let inside = match (range, l.captured_at) {
            ((None, None), _) => true,
            (_, None) => false,
            ((from, to), Some(t)) => from.is_none_or(|f| t >= f) && to.is_none_or(|u| t < u),
        };
        if !inside {
            continue;
        }
        let f = want.entry(key_of(l, dims)).or_default();
        f[0] += 1;
        f[1] += i64::from(l.sql);
        match &l.contract {
            Some((c, amount)) if c == currency => {
                f[2] += 1;
                f[3] += amount;
                f[4] += l.receipts.get(c).copied().unwrap_or(0);
            }
            Some(_) => f[5] += 1,
            None => {}
        }
    }
    want
}

/// The answer as figures, after checking that each group's factors telescope: every
/// fraction's denominator is the figure before it, its numerator the next one, its value
/// the quotient, and leads × the factors' values is the collected amount (floating point).
fn answered(r: &pb::RevenueEquationResponse) -> BTreeMap<Vec<String>, Figures> {
    let mut got = BTreeMap::new();
    for g in &r.groups {
        let chain = [
            g.leads,
            g.sql,
            g.won,
            g.signed_amount_minor,
            g.collected_amount_minor,
        ];
        let factors = [
            g.lead_conversion.unwrap(),
            g.win_rate.unwrap(),
            g.average_deal_minor.unwrap(),
            g.collection_ratio.unwrap(),
        ];
        let mut product = g.leads as f64;
        for (i, f) in factors.iter().enumerate() {
            assert_eq!(
                (f.numerator, f.denominator),
                (chain[i + 1], chain[i]),
                "{g:?}"
            );
            let value = if f.denominator == 0 {
                assert_eq!(f.numerator, 0, "nothing follows an empty factor: {g:?}");
                0.0
            } else {
                f.numerator as f64 / f.denominator as f64
            };
            assert_eq!(f.value, value, "{g:?}");
            product *= f.value;
        }
        let want = g.collected_amount_minor as f64;
        assert!(
            (product - want).abs() <= want * 1e-12,
            "{product} vs {want}: {g:?}"
        );
        let figures = [
            g.leads,
            g.sql,
            g.won,
            g.signed_amount_minor,
            g.collected_amount_minor,
            g.won_other_currency,
        ];
        assert!(got.insert(g.key.clone(), figures).is_none(), "{g:?}");
    }
    let keys: Vec<_> = got.keys().collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "groups in key order");
    got
}

fn receipt(lead: &str, src: &str, when: DateTime<Utc>, amount: i64, cur: &str) -> pb::Event {
    event(
        lead,
        "kingdee",
        src,
        when,
        P::PaymentCollected(pb::PaymentCollected {
            amount_minor: amount,
            currency: cur.into(),
            payment_id: format!("RC-{src}"),
            contract_id: format!("C-{lead}"),
        }),
    )
}

fn signed_in(lead: &str, src: &str, when: DateTime<Utc>, amount: i64, cur: &str) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        when,
        P::Signed(pb::Signed {
            amount_minor: amount,
            currency: cur.into(),
            contract_id: format!("C-{lead}"),
        }),
    )
}

fn crafted() -> Vec<pb::Event> {
    let mut out = Vec::new();
    for (i, lead) in ["R-pre", "R-usd", "R-other", "R-unsigned", "R-dup"]
        .iter()
        .enumerate()
    {
        out.push(captured(
            lead,
            &format!("{lead}-c"),
            at(5, 4 + i as u32, 9),
            "crafted",
        ));
        if *lead != "R-unsigned" {
            out.push(accepted(lead, &format!("{lead}-a"), at(5, 20, 9), "rep-1"));
        }
    }
    // A deposit before the contract, then more than the contract.
    out.push(receipt("R-pre", "r1", at(5, 25, 9), 100_000, "CNY"));
    out.push(signed("R-pre", "R-pre-s", at(6, 1, 9), 400_000));
    out.push(receipt("R-pre", "r2", at(6, 20, 9), 350_000, "CNY"));
    // A contract in USD, paid in part.
    out.push(signed_in("R-usd", "R-usd-s", at(6, 2, 9), 50_000, "USD"));
    out.push(receipt("R-usd", "r3", at(6, 9, 9), 20_000, "USD"));
    // A receipt in a currency other than the contract's.
    out.push(signed("R-other", "R-other-s", at(6, 3, 9), 300_000));
    out.push(receipt("R-other", "r4", at(6, 10, 9), 999, "USD"));
    // A receipt on a lead never signed.
    out.push(receipt("R-unsigned", "r5", at(6, 11, 9), 777, "CNY"));
    // A receipt sent twice (same source id).
    out.push(signed("R-dup", "R-dup-s", at(6, 4, 9), 200_000));
    out.push(receipt("R-dup", "r6", at(6, 12, 9), 50_000, "CNY"));
    out.push(receipt("R-dup", "r6", at(6, 12, 9), 50_000, "CNY"));
    // No capture: only in the answers without capture bounds.
    out.push(accepted("R-nocap", "R-nocap-a", at(6, 1, 9), "rep-2"));
    out.push(signed("R-nocap", "R-nocap-s", at(6, 5, 9), 10_000));
    out.push(receipt("R-nocap", "r7", at(6, 15, 9), 10_000, "CNY"));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_revenue_equation_equals_an_independent_replay_and_multiplies_exactly(
) -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let token = quarter(&env, SEED, LEADS, crafted()).await?;
    let mut q = env.query().await?;
    let leads = replay(&mut q).await?;
    let signed_cny = leads
        .iter()
        .filter(|l| l.contract.as_ref().is_some_and(|(c, _)| c == "CNY"))
        .count();
    assert!(signed_cny >= 10, "the quarter signs deals: {signed_cny}");

    use pb::FunnelDimension as D;
    let day = |m, d| Some(Utc.with_ymd_and_hms(2026, m, d, 0, 0, 0).unwrap());
    let noon = Some(Utc.with_ymd_and_hms(2026, 5, 10, 12, 0, 0).unwrap());
    let asks: Vec<(Vec<D>, &str, Range)> = vec![
        (vec![], "", (None, None)),
        (vec![D::Channel], "", (None, None)),
        (vec![D::Segment, D::CaptureMonth], "", (None, None)),
        (vec![D::Channel], "USD", (None, None)),
        (vec![D::Channel], "EUR", (None, None)),
        // Whole days: the cells; a bound inside a day: the leads.
        (vec![D::Channel], "", (day(5, 1), day(6, 1))),
        (vec![D::CaptureMonth], "CNY", (noon, None)),
    ];
    for (dims, currency, range) in asks {
        let r = q
            .revenue_equation(pb::RevenueEquationRequest {
                tenant_id: T.into(),
                group_by: dims.iter().map(|d| *d as i32).collect(),
                captured_from: range.0.map(time_to_proto),
                captured_to: range.1.map(time_to_proto),
                currency: currency.into(),
                consistency_token: token.clone(),
            })
            .await?
            .into_inner();
        // The default is the currency most signed leads are in.
        let cur = if currency.is_empty() { "CNY" } else { currency };
        assert_eq!(r.currency, cur);
        assert_eq!(
            answered(&r),
            expected(&leads, &dims, cur, range),
            "{dims:?} {cur} {range:?}"
        );
    }

    // The crafted leads, by hand: R-pre collected 450 000 of 400 000; R-usd is another
    // currency's; R-other's USD receipt and R-unsigned's receipt count nowhere; R-dup's
    // receipt once.
    let crafted = q
        .revenue_equation(pb::RevenueEquationRequest {
            tenant_id: T.into(),
            group_by: vec![D::Channel as i32],
            ..Default::default()
        })
        .await?
        .into_inner();
    let g = crafted
        .groups
        .iter()
        .find(|g| g.key == ["crafted"])
        .expect("the crafted group");
    assert_eq!(
        (
            g.leads,
            g.sql,
            g.won,
            g.signed_amount_minor,
            g.collected_amount_minor
        ),
        (5, 4, 3, 900_000, 500_000)
    );
    assert_eq!(g.won_other_currency, 1);
    let usd = q
        .revenue_equation(pb::RevenueEquationRequest {
            tenant_id: T.into(),
            group_by: vec![D::Channel as i32],
            currency: "USD".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let g = usd.groups.iter().find(|g| g.key == ["crafted"]).unwrap();
    assert_eq!(
        (
            g.won,
            g.signed_amount_minor,
            g.collected_amount_minor,
            g.won_other_currency
        ),
        (1, 50_000, 20_000, 3)
    );

    // The simulated quarter's receipts, all of them.
    let sim = leadledger_sim::generate(&leadledger_sim::SimConfig {
        seed: SEED,
        leads: LEADS,
        tenant: T.into(),
        ..Default::default()
    });
    let simulated: i64 = crafted
        .groups
        .iter()
        .filter(|g| g.key != ["crafted"] && g.key != [""])
        .map(|g| g.collected_amount_minor)
        .sum();
    assert_eq!(simulated, sim.expected.collected_amount_minor);
    assert!(simulated > 0);

    // `Funnel` shows the same collected amounts beside the signed ones.
    let funnel = q
        .funnel(pb::FunnelRequest {
            tenant_id: T.into(),
            group_by: vec![D::Channel as i32],
            ..Default::default()
        })
        .await?
        .into_inner();
    for (f, e) in funnel.groups.iter().zip(&crafted.groups) {
        assert_eq!(f.key, e.key);
        assert_eq!(
            f.collected_amount_minor.get("CNY").copied().unwrap_or(0),
            e.collected_amount_minor,
            "{:?}",
            f.key
        );
        // Maps: compared as sets (a protobuf map has no order).
        assert_eq!(
            f.signed_amount_minor
                .keys()
                .collect::<std::collections::BTreeSet<_>>(),
            f.collected_amount_minor.keys().collect(),
            "a collected amount for every signed currency"
        );
    }
    assert_eq!(funnel.groups.len(), crafted.groups.len());

    figures_open_to_their_leads(&mut q).await?;
    env.cleanup().await
}

/// How many leads `ListLeads` gives for `filter`, every page read.
async fn count(
    q: &mut QueryServiceClient<Channel>,
    filter: pb::ListLeadsRequest,
) -> anyhow::Result<i64> {
    let mut n = 0;
    let mut page_token = String::new();
    loop {
        let page = q
            .list_leads(pb::ListLeadsRequest {
                tenant_id: T.into(),
                page_size: 1000,
                page_token: page_token.clone(),
                ..filter.clone()
            })
            .await?
            .into_inner();
        n += i64::try_from(page.leads.len())?;
        if page.next_page_token.is_empty() {
            return Ok(n);
        }
        page_token = page.next_page_token;
    }
}

/// Issue 17 item 8 for `Funnel` and `RevenueEquation`: every count of every group (whose
/// key has no empty value) equals the number of leads `ListLeads` lists for the filter
/// docs/ANALYTICS.md ("Opening a figure") maps it to.
async fn figures_open_to_their_leads(q: &mut QueryServiceClient<Channel>) -> anyhow::Result<()> {
    use pb::FunnelDimension as D;
    let segment = |s: &str| match s {
        "KA" => pb::Segment::Ka as i32,
        _ => pb::Segment::Smb as i32,
    };
    let month = |m: &str| -> anyhow::Result<(DateTime<Utc>, DateTime<Utc>)> {
        let (y, mo) = m.split_once('-').expect("YYYY-MM");
        let (y, mo): (i32, u32) = (y.parse()?, mo.parse()?);
        let next = if mo == 12 { (y + 1, 1) } else { (y, mo + 1) };
        Ok((
            Utc.with_ymd_and_hms(y, mo, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(next.0, next.1, 1, 0, 0, 0).unwrap(),
        ))
    };
    let mut opened = 0;
    for dims in [vec![D::Channel], vec![D::Segment, D::CaptureMonth]] {
        let funnel = q
            .funnel(pb::FunnelRequest {
                tenant_id: T.into(),
                group_by: dims.iter().map(|d| *d as i32).collect(),
                ..Default::default()
            })
            .await?
            .into_inner();
        for g in funnel
            .groups
            .iter()
            .filter(|g| g.key.iter().all(|k| !k.is_empty()))
        {
            let mut filter = pb::ListLeadsRequest::default();
            for (d, k) in dims.iter().zip(&g.key) {
                match d {
                    D::Channel => filter.channel.clone_from(k),
                    D::Segment => filter.segment = segment(k),
                    D::CaptureMonth => {
                        let (from, to) = month(k)?;
                        filter.captured_from = Some(time_to_proto(from));
                        filter.captured_to = Some(time_to_proto(to));
                    }
                    other => unreachable!("{other:?}"),
                }
            }
            for s in &g.stages {
                let listed = count(
                    q,
                    pb::ListLeadsRequest {
                        reached: s.stage,
                        ..filter.clone()
                    },
                )
                .await?;
                assert_eq!(listed, s.leads, "{:?} stage {}", g.key, s.stage);
                opened += 1;
            }
        }
    }
    let revenue = q
        .revenue_equation(pb::RevenueEquationRequest {
            tenant_id: T.into(),
            group_by: vec![D::Channel as i32],
            ..Default::default()
        })
        .await?
        .into_inner();
    for g in revenue.groups.iter().filter(|g| !g.key[0].is_empty()) {
        let channel = pb::ListLeadsRequest {
            channel: g.key[0].clone(),
            ..Default::default()
        };
        let won = pb::ListLeadsRequest {
            reached: pb::Stage::Signed as i32,
            signed_currency: revenue.currency.clone(),
            ..channel.clone()
        };
        let sql = pb::ListLeadsRequest {
            reached: pb::Stage::Sql as i32,
            ..channel.clone()
        };
        assert_eq!(count(q, channel).await?, g.leads, "{:?}", g.key);
        assert_eq!(count(q, sql).await?, g.sql, "{:?}", g.key);
        assert_eq!(count(q, won).await?, g.won, "{:?}", g.key);
        opened += 3;
    }
    assert!(opened > 100, "{opened} figures opened");
    // A stage off the main line or a currency that is no ISO code is refused.
    let bad = q
        .list_leads(pb::ListLeadsRequest {
            tenant_id: T.into(),
            reached: pb::Stage::Lost as i32,
            signed_currency: "cny".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        leadledger_e2e::violation_fields(&bad),
        ["reached", "signed_currency"]
    );
    Ok(())
}
