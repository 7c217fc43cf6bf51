//! Referrals (issue 18 item 4, docs/ATTRIBUTION.md "Referrals"), against the real broker and
//! PostgreSQL: a `ReferredBy` fact is a touch of the referrer's channel on the referred
//! lead's path; a referrer captured later, merged into another lead or unmerged, changes the
//! precomputed credits of the leads it referred, also once a referred lead is merged into
//! another; the on-request models read the same paths; a replay gives the same rows. A
//! referral by a customer (its account had a signed lead then) is credited to the referring
//! account (channel `customer_referral`, campaign the account), also when the signing that
//! made it a customer is told after the referral.

use std::time::Duration;

use leadledger_api::pb::attribution_service_client::AttributionServiceClient;
use leadledger_api::pb::identity_service_client::IdentityServiceClient;
use leadledger_api::pb::{self};
use leadledger_e2e::events::{at, captured, referred, signed};
use leadledger_e2e::{append, assert_same_rows, dump_read_models, TestEnv};

const T: &str = "acme";

/// The channels on `lead`'s contact-level path of its signing, in path order, as the
/// credits worker stored them.
async fn path(env: &TestEnv, lead: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT channel FROM attribution_credits WHERE tenant_id = $1 AND lead_id = $2 \
         AND level = 'contact' AND conversion = 'signed' ORDER BY touch_index",
    )
    .bind(T)
    .bind(lead)
    .fetch_all(&env.store.pool)
    .await?)
}

/// Signed credits by channel under linear: precomputed (`Attribution`) and on request
/// (`CompareModels`), sorted.
async fn by_channel(env: &TestEnv) -> anyhow::Result<(Vec<(String, i64)>, Vec<(String, i64)>)> {
    let mut a = AttributionServiceClient::connect(format!("http://{}", env.addr)).await?;
    let stored = a
        .attribution(pb::AttributionRequest {
            tenant_id: T.into(),
            model: "linear".into(),
            conversion: pb::ConversionKind::Signed.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(stored.precomputed);
    let mut stored: Vec<(String, i64)> = stored
        .groups
        .into_iter()
        .map(|g| (g.value, g.credit))
        .collect();
    stored.sort();
    let asked = a
        .compare_models(pb::CompareModelsRequest {
            tenant_id: T.into(),
            conversion: pb::ConversionKind::Signed.into(),
            models: vec!["linear".into()],
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut asked: Vec<(String, i64)> = asked.models[0]
        .channels
        .iter()
        .map(|c| (c.channel.clone(), c.credit))
        .collect();
    asked.sort();
    Ok((stored, asked))
}

#[tokio::test]
async fn a_referral_is_a_touch_of_the_referrers_channel() -> anyhow::Result<()> {
    let mut env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    // C1, a customer from the expo, refers N1; N2 names a referrer the ledger has not
    // heard of yet; N3 is referred by M, whom S (captured first, from ads) turns out to be.
    append(
        &mut ingest,
        T,
        vec![
            captured("C1", "c1", at(3, 1, 9), "event"),
            signed("C1", "w1", at(3, 20, 9), 10_000_000),
            captured("N1", "n1", at(4, 1, 9), "website"),
            referred("N1", "r1", at(4, 2, 9), "C1"),
            signed("N1", "w2", at(4, 20, 9), 20_000_000),
            captured("N2", "n2", at(4, 1, 9), "website"),
            referred("N2", "r2", at(4, 2, 9), "G1"),
            signed("N2", "w3", at(4, 20, 9), 20_000_000),
            captured("S", "s", at(3, 1, 9), "ads"),
            captured("M", "m", at(3, 2, 9), "seo"),
            captured("N3", "n3", at(4, 1, 9), "website"),
            referred("N3", "r3", at(4, 2, 9), "M"),
            signed("N3", "w4", at(4, 20, 9), 20_000_000),
        ],
    )
    .await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    // C1 had signed before it referred N1: a customer's referral, credited to its account.
    assert_eq!(path(&env, "N1").await?, ["website", "customer_referral"]);
    // Not a lead yet: the referral is a touch of the channel "referral".
    assert_eq!(path(&env, "N2").await?, ["website", "referral"]);
    assert_eq!(path(&env, "N3").await?, ["website", "seo"]);
    // The referrer's own path is untouched.
    assert_eq!(path(&env, "C1").await?, ["event"]);
    let (stored, asked) = by_channel(&env).await?;
    assert_eq!(stored, asked);

    // G1 is captured from a partner: N2's path follows, with nothing of N2's own logged.
    append(
        &mut ingest,
        T,
        vec![captured("G1", "g1", at(5, 1, 9), "partner")],
    )
    .await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    assert_eq!(path(&env, "N2").await?, ["website", "partner"]);

    // M is merged into S: N3's referral is now S's source.
    let mut identity = IdentityServiceClient::connect(format!("http://{}", env.addr)).await?;
    identity
        .merge_leads(pb::MergeLeadsRequest {
            tenant_id: T.into(),
            survivor_id: "S".into(),
            merged_ids: vec!["M".into()],
            reason: "one person".into(),
            requested_by: "ops@acme.example".into(),
            request_id: "m-1".into(),
        })
        .await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    assert_eq!(path(&env, "N3").await?, ["website", "ads"]);
    let (stored, asked) = by_channel(&env).await?;
    assert_eq!(stored, asked);
    // Linear over signed deals: C1 1 (event), N1 ½ website ½ C1's account, N2 ½ website ½
    // partner, N3 ½ website ½ ads, in milli-conversions.
    assert_eq!(
        stored,
        [
            ("ads".to_string(), 500),
            ("customer_referral".to_string(), 500),
            ("event".to_string(), 1_000),
            ("partner".to_string(), 500),
            ("website".to_string(), 1_500)
        ]
    );

    // Unmerged, M is its own lead again: N3's referral is M's source once more.
    identity
        .unmerge_lead(pb::UnmergeLeadRequest {
            tenant_id: T.into(),
            lead_id: "M".into(),
            reason: "two people".into(),
            requested_by: "ops@acme.example".into(),
            request_id: "u-1".into(),
        })
        .await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    assert_eq!(path(&env, "N3").await?, ["website", "seo"]);

    // A referred lead merged into another: its referral is on the survivor's path, and
    // follows its referrer when that changes (G1 merged into S, who came from ads).
    append(
        &mut ingest,
        T,
        vec![captured("Y", "y", at(3, 31, 9), "social")],
    )
    .await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;
    let merge = |survivor: &str, merged: &str, id: &str| pb::MergeLeadsRequest {
        tenant_id: T.into(),
        survivor_id: survivor.into(),
        merged_ids: vec![merged.into()],
        reason: "one person".into(),
        requested_by: "ops@acme.example".into(),
        request_id: id.into(),
    };
    identity.merge_leads(merge("Y", "N2", "m-2")).await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    assert_eq!(path(&env, "Y").await?, ["social", "website", "partner"]);
    assert_eq!(path(&env, "N2").await?, Vec::<String>::new());
    identity.merge_leads(merge("S", "G1", "m-3")).await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    assert_eq!(path(&env, "Y").await?, ["social", "website", "ads"]);
    let (stored, asked) = by_channel(&env).await?;
    assert_eq!(stored, asked);

    // A replay from offset 0 gives the same rows.
    let live = dump_read_models(&env.store).await?;
    let replayed = env.replay("referrals-replay").await?;
    assert_same_rows(&dump_read_models(&replayed).await?, &live, "replay");
    env.cleanup().await
}

/// A capture of `lead` from `channel`, by a person at `domain`.
fn at_company(
    lead: &str,
    when: chrono::DateTime<chrono::Utc>,
    channel: &str,
    domain: &str,
) -> pb::Event {
    let mut e = captured(lead, &format!("cap-{lead}"), when, channel);
    if let Some(pb::event::Payload::LeadCaptured(c)) = e.payload.as_mut() {
        if let Some(contact) = c.contact.as_mut() {
            contact.email = format!("{}@{domain}", lead.to_lowercase());
        }
        if let Some(company) = c.company.as_mut() {
            company.domain = domain.into();
        }
    }
    e
}

#[tokio::test]
async fn a_customers_referral_is_credited_to_the_referring_account() -> anyhow::Result<()> {
    let mut env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    // P1 and P2 work at cust.example; P1 refers N on 3-15. P2 signed on 3-10, but that is
    // told only after N's path was credited.
    append(
        &mut ingest,
        T,
        vec![
            at_company("P1", at(3, 1, 9), "event", "cust.example"),
            at_company("P2", at(3, 1, 10), "seo", "cust.example"),
            captured("N", "n", at(3, 14, 9), "website"),
            referred("N", "r", at(3, 15, 9), "P1"),
            signed("N", "w", at(4, 1, 9), 20_000_000),
            // Q is referred by P1 before the account's first signing: not a customer's word.
            captured("Q", "q", at(3, 5, 9), "website"),
            referred("Q", "rq", at(3, 6, 9), "P1"),
            signed("Q", "wq", at(4, 1, 9), 20_000_000),
        ],
    )
    .await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    assert_eq!(path(&env, "N").await?, ["website", "event"]);
    append(
        &mut ingest,
        T,
        vec![signed("P2", "w2", at(3, 10, 9), 5_000_000)],
    )
    .await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    // P2's signing made the account a customer before P1's referral of N, not of Q.
    assert_eq!(path(&env, "N").await?, ["website", "customer_referral"]);
    assert_eq!(path(&env, "Q").await?, ["website", "event"]);
    let (stored, asked) = by_channel(&env).await?;
    assert_eq!(stored, asked);
    // By campaign, the referral's half of N's deal is the referring account's.
    let mut a = AttributionServiceClient::connect(format!("http://{}", env.addr)).await?;
    let by_campaign = a
        .attribution(pb::AttributionRequest {
            tenant_id: T.into(),
            model: "linear".into(),
            conversion: pb::ConversionKind::Signed.into(),
            group_by: pb::GroupBy::Campaign.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let account = by_campaign
        .groups
        .iter()
        .find(|g| g.value == "domain:cust.example")
        .expect("the referring account is a campaign");
    assert_eq!(account.credit, 500);

    let live = dump_read_models(&env.store).await?;
    let replayed = env.replay("customer-referrals-replay").await?;
    assert_same_rows(&dump_read_models(&replayed).await?, &live, "replay");
    env.cleanup().await
}
