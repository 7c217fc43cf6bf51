//! Account-level ownership (issue 18 item 5, docs/IDENTITY.md "Account ownership"), against
//! the real broker and PostgreSQL, under the test server's rules (`KA=account_owner`,
//! `SMB=first_claim`, none for any other account): a key account's leads go to its listed
//! owner and another rep is told who owns it, since when and by which rule; an SMB account
//! goes to the first rep ruled on, also when two reps claim two of its leads at once; an
//! account on no list and a free-mail lead are decided per lead; a retry rules once; a
//! re-listing hands the account over; `ListOwnershipConflicts` and its BI view show who,
//! since when and the rule; the router gives a key account's MQL to its owner; and a replay
//! from offset 0 rules the same.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::ownership_service_client::OwnershipServiceClient;
use leadledger_api::pb::{self, event::Payload, AccountRule};
use leadledger_e2e::events::{at, event, mql};
use leadledger_e2e::{append, assert_same_rows, dump_read_models, TestEnv};
use leadledger_sla::PolicySet;
use leadledger_workers::sla_worker::ManualClock;
use tonic::transport::Channel;
use tonic::Code;
use tonic_types::StatusExt;

const T: &str = "acme";

/// `(account_key, reps, tier, holder_rep_id, last_rule)` of `bi.account_ownership_conflicts`.
type BiConflict = (String, Vec<String>, String, String, Option<String>);

fn capture(lead: &str, when: DateTime<Utc>, email: &str, domain: &str) -> pb::Event {
    event(
        lead,
        "salesforce",
        &format!("cap-{lead}"),
        when,
        Payload::LeadCaptured(pb::LeadCaptured {
            contact: Some(pb::Contact {
                email: email.into(),
                name: format!("Contact {lead}"),
                ..Default::default()
            }),
            company: Some(pb::Company {
                domain: domain.into(),
                ..Default::default()
            }),
            source: Some(pb::LeadSource {
                channel: "website".into(),
                ..Default::default()
            }),
            sealed_contact: None,
        }),
    )
}

/// A target-account listing (sent with no lead id: the server files it).
fn listed(src: &str, when: DateTime<Utc>, account: &str, tier: &str, owner: &str) -> pb::Event {
    event(
        "",
        "crm",
        src,
        when,
        Payload::TargetAccountListed(pb::TargetAccountListed {
            account: account.into(),
            name: account.into(),
            tier: tier.into(),
            owner_rep_id: owner.into(),
            owner_team: if owner.is_empty() { "" } else { "ka-desk" }.into(),
            delisted: false,
        }),
    )
}

fn claim(lead: &str, rep: &str, request_id: &str) -> pb::ClaimLeadRequest {
    pb::ClaimLeadRequest {
        tenant_id: T.into(),
        lead_id: lead.into(),
        rep_id: rep.into(),
        team: "east".into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

/// The refusal's ErrorInfo reason and metadata.
fn refusal(s: &tonic::Status) -> (String, HashMap<String, String>) {
    assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
    let info = s
        .get_error_details()
        .error_info()
        .cloned()
        .expect("ErrorInfo");
    (info.reason, info.metadata)
}

async fn owner_of(env: &TestEnv, lead: &str) -> anyhow::Result<String> {
    Ok(
        sqlx::query_scalar("SELECT owner_rep_id FROM leads WHERE tenant_id = $1 AND lead_id = $2")
            .bind(T)
            .bind(lead)
            .fetch_one(&env.store.pool)
            .await?,
    )
}

/// `(lead, rep, rule, queue)` of the first `n` routings, waited for.
async fn wait_for_routings(
    env: &TestEnv,
    n: usize,
) -> anyhow::Result<Vec<(String, String, String, String)>> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT lead_id, \
                    coalesce(body -> 'payload' -> 'LeadRouted' -> 'owner' ->> 'rep_id', ''), \
                    coalesce(body -> 'payload' -> 'LeadRouted' ->> 'rule_id', ''), \
                    coalesce(body -> 'payload' -> 'LeadRouted' -> 'owner' ->> 'queue', '') \
             FROM lead_events WHERE tenant_id = $1 AND event_type = 'lead_routed' \
             ORDER BY lead_id",
        )
        .bind(T)
        .fetch_all(&env.store.pool)
        .await?;
        if rows.len() >= n {
            return Ok(rows);
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "routed only {rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn conflicts(
    own: &mut OwnershipServiceClient<Channel>,
    page_size: u32,
) -> anyhow::Result<Vec<pb::OwnershipConflict>> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = own
            .list_ownership_conflicts(pb::ListOwnershipConflictsRequest {
                tenant_id: T.into(),
                page_size,
                page_token: token,
                ..Default::default()
            })
            .await?
            .into_inner();
        out.extend(page.conflicts);
        if page.next_page_token.is_empty() {
            return Ok(out);
        }
        token = page.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn account_rules_decide_claims_in_the_accounts_log_order() -> anyhow::Result<()> {
    let mut env = TestEnv::start(3).await?;
    let mut ingest = env.ingest().await?;
    let mut own = OwnershipServiceClient::connect(format!("http://{}", env.addr)).await?;

    // BigCo (K*) is a key account; Small (S*) an SMB one; U* are at an account on no list;
    // F1 writes from free mail; H1 is at a key account whose only lead another rep owns.
    let mut facts = vec![
        capture("K1", at(3, 2, 9), "a@bigco.com", "bigco.com"),
        capture("K2", at(3, 2, 10), "b@bigco.com", ""),
        capture("K3", at(3, 2, 11), "c@bigco.com", "www.BigCo.com"),
        capture("S1", at(3, 3, 9), "a@small.io", "small.io"),
        capture("S2", at(3, 3, 10), "b@small.io", "small.io"),
        capture("U1", at(3, 4, 9), "a@unlisted.org", "unlisted.org"),
        capture("U2", at(3, 4, 10), "b@unlisted.org", "unlisted.org"),
        capture("F1", at(3, 5, 9), "f@gmail.com", ""),
        capture("H1", at(3, 5, 10), "h@solo.net", "solo.net"),
    ];
    let ack = append(&mut ingest, T, std::mem::take(&mut facts)).await?;
    // Claimed before any listing: no tier, no rule, decided per lead.
    let mut early = claim("K3", "bob", "");
    early.consistency_token = ack.consistency_token.clone();
    let d = own.claim_lead(early).await?.into_inner().decision.unwrap();
    let r = d.account_ruling.expect("the account step ran");
    assert!(
        r.allowed && r.rule() == AccountRule::None && r.tier.is_empty(),
        "{r:?}"
    );
    assert_eq!(r.account, "domain:bigco.com");
    own.claim_lead(claim("H1", "hal", "")).await?;

    let listed_at = at(3, 6, 9);
    let ack = append(
        &mut ingest,
        T,
        vec![
            listed("l1", listed_at, "www.bigco.com", "KA", "ann"),
            listed("l2", listed_at, "domain:small.io", "SMB", ""),
            listed("l3", listed_at, "solo.net", "KA", "gil"),
            listed("l5", listed_at, "account:crm-99", "KA", "ivy"),
        ],
    )
    .await?;
    // GetAccount shows the tier and the owner; a listed account with no lead yet is found.
    let mut q = env.query().await?;
    for (account, leads, owner) in [("bigco.com", 3, "ann"), ("account:crm-99", 0, "ivy")] {
        let a = q
            .get_account(pb::GetAccountRequest {
                tenant_id: T.into(),
                account: if account.contains(':') {
                    account.to_string()
                } else {
                    format!("domain:{account}")
                },
                consistency_token: ack.consistency_token.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        assert_eq!((a.tier.as_str(), a.lead_count), ("KA", leads), "{account}");
        let o = a.owner.expect("an owner");
        assert_eq!((o.rep_id.as_str(), o.held_by.as_str()), (owner, "listing"));
        assert_eq!(o.since, Some(time_to_proto(listed_at)));
    }
    let after_listing = |req: pb::ClaimLeadRequest| pb::ClaimLeadRequest {
        consistency_token: ack.consistency_token.clone(),
        ..req
    };

    // Another rep's claim of a key account's lead: refused, naming owner, since and rule.
    let lost = own
        .claim_lead(after_listing(claim("K1", "bob", "bob-k1")))
        .await
        .unwrap_err();
    let (reason, meta) = refusal(&lost);
    assert_eq!(reason, "ACCOUNT_OWNERSHIP_REFUSED");
    assert_eq!(meta["owner_rep_id"], "ann");
    assert_eq!(meta["owner_since"], listed_at.to_rfc3339());
    assert_eq!(meta["rule"], "account_owner");
    assert_eq!(meta["tier"], "KA");
    assert_eq!(meta["account"], "domain:bigco.com");
    assert!(lost.message().contains("`ann`"), "{}", lost.message());
    // Its retry is the same ruling: one intent, one row.
    let again = own
        .claim_lead(after_listing(claim("K1", "bob", "bob-k1")))
        .await
        .unwrap_err();
    assert_eq!(refusal(&again).1["intent_id"], meta["intent_id"]);
    let rulings: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_rulings WHERE tenant_id = $1 AND intent_id = $2::uuid",
    )
    .bind(T)
    .bind(&meta["intent_id"])
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(rulings, 1);
    // The same request id for another lead: refused, nothing appended.
    let reused = own
        .claim_lead(after_listing(claim("K2", "bob", "bob-k1")))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::InvalidArgument, "{reused:?}");
    assert_eq!(leadledger_e2e::violation_fields(&reused), ["request_id"]);
    // A conflicts page token of the company-domain era is no account key.
    let old = own
        .list_ownership_conflicts(pb::ListOwnershipConflictsRequest {
            tenant_id: T.into(),
            page_token: "bigco.com".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(leadledger_e2e::violation_fields(&old), ["page_token"]);
    // A manager's assignment is refused the same way; the owner's claim is granted.
    let assign = own
        .assign_lead(pb::AssignLeadRequest {
            tenant_id: T.into(),
            lead_id: "K2".into(),
            rep_id: "bob".into(),
            requested_by: "mgr".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refusal(&assign).1["rule"], "account_owner");
    let granted = own
        .claim_lead(claim("K1", "ann", ""))
        .await?
        .into_inner()
        .decision
        .unwrap();
    let r = granted.account_ruling.unwrap();
    assert!(r.allowed && r.rule() == AccountRule::AccountOwner);
    assert_eq!(r.holder.unwrap().since, Some(time_to_proto(listed_at)));
    assert_eq!(owner_of(&env, "K1").await?, "ann");
    assert_eq!(owner_of(&env, "K2").await?, "");

    // Two reps claim two leads of the SMB account at once: the account's log order picks one.
    let calls: Vec<_> = [("S1", "cat"), ("S2", "dan")]
        .into_iter()
        .map(|(lead, rep)| {
            let mut c = own.clone();
            let req = after_listing(claim(lead, rep, ""));
            tokio::spawn(async move { c.claim_lead(req).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(call.await?);
    }
    let (won, lost): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(|r| r.is_ok());
    assert_eq!(
        (won.len(), lost.len()),
        (1, 1),
        "exactly one rep holds the account"
    );
    let winner = won[0].as_ref().unwrap().get_ref().decision.clone().unwrap();
    let (_, meta) = refusal(lost[0].as_ref().unwrap_err());
    assert_eq!(meta["owner_rep_id"], winner.rep_id);
    assert_eq!(meta["rule"], "first_claim");
    let held: (String, String) = sqlx::query_as(
        "SELECT holder_rep_id, holder_by FROM account_holdings \
         WHERE tenant_id = $1 AND account_key = 'domain:small.io'",
    )
    .bind(T)
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(held, (winner.rep_id.clone(), "first_claim".to_string()));

    // No list, no rule: both granted. Free mail: no account step at all.
    for (lead, rep) in [("U1", "eve"), ("U2", "fay")] {
        let d = own.claim_lead(claim(lead, rep, "")).await?.into_inner();
        assert_eq!(
            d.decision.unwrap().account_ruling.unwrap().rule(),
            AccountRule::None
        );
    }
    let f = own.claim_lead(claim("F1", "eve", "")).await?.into_inner();
    assert_eq!(f.decision.unwrap().account_ruling, None);

    // The conflicts: who, since when, the rule that would decide, and who it gives them to.
    let all = conflicts(&mut own, 1).await?;
    let by_account: HashMap<&str, &pb::OwnershipConflict> =
        all.iter().map(|c| (c.account.as_str(), c)).collect();
    assert_eq!(
        all.iter().map(|c| c.account.as_str()).collect::<Vec<_>>(),
        ["domain:bigco.com", "domain:solo.net", "domain:unlisted.org"],
        "pages of one, by account"
    );
    let big = by_account["domain:bigco.com"];
    assert_eq!(big.rep_ids, ["ann", "bob"]);
    assert_eq!(big.company_domain, "bigco.com");
    assert_eq!(
        (big.tier.as_str(), big.rule()),
        ("KA", AccountRule::AccountOwner)
    );
    assert_eq!(big.winner_rep_id, "ann");
    let holder = big.holder.clone().unwrap();
    assert_eq!(
        (holder.rep_id.as_str(), holder.held_by.as_str()),
        ("ann", "listing")
    );
    assert_eq!(holder.since, Some(time_to_proto(listed_at)));
    assert!(big
        .owners
        .iter()
        .all(|o| o.open_leads == 1 && o.since.is_some()));
    // One rep owns its only lead, but another owns the account.
    let solo = by_account["domain:solo.net"];
    assert_eq!(
        (solo.rep_ids.clone(), solo.winner_rep_id.as_str()),
        (vec!["hal".to_string()], "gil")
    );
    let un = by_account["domain:unlisted.org"];
    assert_eq!(
        (un.rule(), un.winner_rep_id.as_str()),
        (AccountRule::None, "")
    );
    // The BI view says the same.
    let bi: Vec<BiConflict> = sqlx::query_as(
        "SELECT account_key, reps, tier, holder_rep_id, last_rule \
         FROM bi.account_ownership_conflicts WHERE tenant_id = $1 ORDER BY account_key",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(
        bi,
        [
            (
                "domain:bigco.com".to_string(),
                vec!["ann".to_string(), "bob".to_string()],
                "KA".to_string(),
                "ann".to_string(),
                Some("account_owner".to_string())
            ),
            (
                "domain:solo.net".to_string(),
                vec!["hal".to_string()],
                "KA".to_string(),
                "gil".to_string(),
                // Hal's claim was ruled on before the listing: no tier, no rule.
                Some("none".to_string())
            ),
            (
                "domain:unlisted.org".to_string(),
                vec!["eve".to_string(), "fay".to_string()],
                String::new(),
                String::new(),
                Some("none".to_string())
            ),
        ]
    );

    // Re-listed with another owner: the account is handed over, from the listing's time.
    let handover = at(3, 9, 9);
    let ack = append(
        &mut ingest,
        T,
        vec![listed("l4", handover, "bigco.com", "KA", "bob")],
    )
    .await?;
    let mut k2 = claim("K2", "bob", "");
    k2.consistency_token = ack.consistency_token;
    let d = own.claim_lead(k2).await?.into_inner().decision.unwrap();
    assert_eq!(
        d.account_ruling.unwrap().holder.unwrap().since,
        Some(time_to_proto(handover))
    );
    // Ann still owns K1, but no longer the account: her claim is refused, naming bob.
    let lost = own.claim_lead(claim("K1", "ann", "")).await.unwrap_err();
    let (_, meta) = refusal(&lost);
    assert_eq!(meta["owner_rep_id"], "bob");
    assert_eq!(meta["owner_since"], handover.to_rfc3339());
    assert_eq!(owner_of(&env, "K1").await?, "ann");

    // The router gives a key account's new MQL to the account's owner, and an MQL of an
    // account on no list to its rules (here: the queue).
    let ack = append(
        &mut ingest,
        T,
        vec![
            capture("K4", at(3, 10, 9), "d@bigco.com", "bigco.com"),
            mql("K4", "m-k4", at(3, 10, 10)),
            mql("U1", "m-u1", at(3, 10, 10)),
            capture("U3", at(3, 10, 9), "c@unlisted.org", "unlisted.org"),
            mql("U3", "m-u3", at(3, 10, 11)),
        ],
    )
    .await?;
    q.get_lead(pb::GetLeadRequest {
        tenant_id: T.into(),
        lead_id: "K4".into(),
        consistency_token: ack.consistency_token,
    })
    .await?;
    let worker = env.start_sla_worker(
        PolicySet::from_toml("version = 1\n[routing]\ndefault = { queue = \"triage\" }\n")?,
        Arc::new(ManualClock::new(at(3, 10, 12))),
    )?;
    let routed: Vec<(String, String, String, String)> = wait_for_routings(&env, 2).await?;
    worker.stop().await;
    assert_eq!(
        routed,
        [
            (
                "K4".to_string(),
                "bob".to_string(),
                "account_owner".to_string(),
                String::new()
            ),
            (
                "U3".to_string(),
                String::new(),
                String::new(),
                "triage".to_string()
            ),
        ]
    );
    assert_eq!(owner_of(&env, "K4").await?, "bob");

    env.wait_caught_up(Duration::from_secs(60)).await?;
    let live = dump_read_models(&env.store).await?;
    assert!(live.iter().any(|r| r.starts_with("account_rulings: ")));
    let replayed = env.replay("account-ownership-replay").await?;
    assert_same_rows(&dump_read_models(&replayed).await?, &live, "replay");
    env.cleanup().await
}
