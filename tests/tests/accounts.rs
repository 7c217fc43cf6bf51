//! Accounts and buying committees (issue 18 item 4, docs/IDENTITY.md "Accounts and buying
//! committees"), against the real broker and PostgreSQL: which account each lead is in (an
//! explicit account id first, then the employer's domain, never free mail), the committee
//! and primary contact `GetAccount` answers, account-level attribution over an explicit
//! account whose leads have different domains, merges, another tenant, and a replay; the
//! account-level funnel and attribution under each account scope (everyone, the committee,
//! the primary contact), live and at a cut.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::attribution_service_client::AttributionServiceClient;
use leadledger_api::pb::identity_service_client::IdentityServiceClient;
use leadledger_api::pb::{self, event::Payload, ContactRole, Stage};
use leadledger_e2e::events::{accepted, at, event, mql, role, signed, touch};
use leadledger_e2e::{append, assert_same_rows, dump_read_models, TestEnv};
use tonic::Code;

const T: &str = "acme";

/// A capture of `lead` by a person writing from `email`, at a company of `domain` with the
/// CRM account `account` (empty: none).
fn capture(
    lead: &str,
    src: &str,
    when: DateTime<Utc>,
    email: &str,
    domain: &str,
    account: &str,
) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        when,
        Payload::LeadCaptured(pb::LeadCaptured {
            contact: Some(pb::Contact {
                email: email.into(),
                name: format!("Contact {lead}"),
                title: "CIO".into(),
                ..Default::default()
            }),
            company: Some(pb::Company {
                name: if email.contains("acme") {
                    "Acme"
                } else {
                    "Other"
                }
                .into(),
                domain: domain.into(),
                account_id: account.into(),
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

/// A1 and A2 are Acme people (one by its company domain, one by its e-mail); A3 writes from
/// free mail and gives no company; A4 is in the CRM account `crm-7` under another domain; A5
/// is captured at acme.com and later told to be in `crm-7` (the explicit id wins); G1 is at
/// Globex.
fn facts() -> Vec<pb::Event> {
    use ContactRole::*;
    vec![
        capture("A1", "c1", at(3, 2, 9), "li@acme.com", "WWW.Acme.com", ""),
        capture("A2", "c2", at(3, 3, 9), "wang@acme.com", "", ""),
        capture("A3", "c3", at(3, 4, 9), "zhang@qq.com", "", ""),
        capture(
            "A4",
            "c4",
            at(3, 5, 9),
            "chen@acme-china.cn",
            "acme-china.cn",
            "crm-7",
        ),
        capture("A5", "c5", at(3, 6, 9), "liu@acme.com", "acme.com", ""),
        capture(
            "A5",
            "c5b",
            at(3, 20, 9),
            "liu@acme.com",
            "acme.com",
            "crm-7",
        ),
        capture("G1", "g1", at(3, 7, 9), "zhao@gmail.com", "globex.com", ""),
        touch("A2", "t2", at(3, 10, 9), "webinar"),
        touch("A4", "t4", at(3, 11, 9), "partner"),
        touch("A5", "t5", at(3, 12, 9), "sem"),
        mql("A1", "m1", at(3, 14, 9)),
        accepted("A1", "s1", at(3, 15, 9), "rep-07"),
        accepted("A2", "s2", at(3, 16, 9), "rep-09"),
        accepted("A5", "s5", at(3, 22, 9), "rep-07"),
        signed("A5", "w5", at(4, 1, 9), 90_000_000),
        role("A1", "r1", at(3, 15, 10), DecisionMaker, true),
        role("A2", "r2", at(3, 16, 10), User, false),
        // The latest of A2's roles holds.
        role("A2", "r3", at(3, 18, 10), Champion, false),
        role("A4", "r4", at(3, 16, 11), Procurement, true),
        role("A5", "r5", at(3, 23, 10), DecisionMaker, true),
        // Told before A5's, but later in business time: it does not hold.
        role("A5", "r6", at(3, 21, 10), User, false),
        role("G1", "r7", at(3, 17, 10), NotInvolved, false),
    ]
}

fn get(account: &str, lead: &str, page_size: u32, token: &str) -> pb::GetAccountRequest {
    pb::GetAccountRequest {
        tenant_id: T.into(),
        account: account.into(),
        lead_id: lead.into(),
        page_size,
        page_token: token.into(),
        ..Default::default()
    }
}

/// `(lead, role, primary)` of a committee.
fn committee(r: &pb::GetAccountResponse) -> Vec<(String, ContactRole, bool)> {
    r.committee
        .iter()
        .map(|m| (m.lead_id.clone(), m.role(), m.primary))
        .collect()
}

fn ids(r: &pb::GetAccountResponse) -> Vec<String> {
    r.leads.iter().map(|l| l.lead_id.clone()).collect()
}

/// The leads whose touches are on `lead`'s account-level paths.
async fn account_path_leads(env: &TestEnv, lead: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT touch_lead_id FROM attribution_credits \
         WHERE tenant_id = $1 AND lead_id = $2 AND level = 'account' ORDER BY 1",
    )
    .bind(T)
    .bind(lead)
    .fetch_all(&env.store.pool)
    .await?)
}

#[tokio::test]
async fn accounts_committees_and_primary_contacts() -> anyhow::Result<()> {
    let mut env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    let ack = append(&mut ingest, T, facts()).await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    let mut q = env.query().await?;

    // Acme by domain: the company domain written any way, or the e-mail's; not A5 (its CRM
    // account wins), not the free-mail writer.
    let acme = q
        .get_account(pb::GetAccountRequest {
            consistency_token: ack.consistency_token.clone(),
            ..get("domain:WWW.acme.com", "", 0, "")
        })
        .await?
        .into_inner();
    assert_eq!(acme.account, "domain:acme.com");
    assert_eq!(ids(&acme), ["A1", "A2"]);
    assert_eq!(acme.name, "Acme");
    assert_eq!(acme.lead_count, 2);
    assert_eq!(
        acme.stages
            .iter()
            .map(|s| (s.stage(), s.leads))
            .collect::<Vec<_>>(),
        [(Stage::Sql, 2)]
    );
    use ContactRole::*;
    assert_eq!(
        committee(&acme),
        [
            ("A1".to_string(), DecisionMaker, true),
            ("A2".to_string(), Champion, false)
        ]
    );
    assert_eq!(acme.primary_lead_id, "A1");
    assert_eq!(
        acme.owners
            .iter()
            .map(|o| (o.rep_id.as_str(), o.open_leads))
            .collect::<Vec<_>>(),
        [("rep-07", 1), ("rep-09", 1)]
    );
    assert_eq!(acme.committee[0].name, "Contact A1");
    assert_eq!(
        acme.committee[0].assigned_at,
        Some(time_to_proto(at(3, 15, 10)))
    );
    assert_eq!(acme.leads[1].account, "domain:acme.com");
    assert_eq!(acme.leads[1].contact_role(), Champion);

    // The CRM account, asked for by one of its leads: two domains, one account; the contact
    // made primary last is the primary one.
    let crm = q.get_account(get("", "A4", 0, "")).await?.into_inner();
    assert_eq!(crm.account, "account:crm-7");
    assert_eq!(ids(&crm), ["A4", "A5"]);
    assert_eq!(
        committee(&crm),
        [
            ("A5".to_string(), DecisionMaker, true),
            ("A4".to_string(), Procurement, false)
        ]
    );
    assert_eq!(crm.primary_lead_id, "A5");
    // A5 is signed: only A4's lead is open.
    assert_eq!(crm.owners, []);
    let a5 = q
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "A5".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(a5.account, "account:crm-7");
    assert_eq!(a5.company.as_ref().unwrap().account_id, "crm-7");
    assert_eq!(a5.contact_role(), DecisionMaker);
    assert!(a5.primary_contact);

    // Free mail forms no account: the lead is its own. Someone who left the committee is no
    // member of it.
    let alone = q.get_account(get("", "A3", 0, "")).await?.into_inner();
    assert_eq!(
        (alone.account.as_str(), ids(&alone)),
        ("lead:A3", vec!["A3".to_string()])
    );
    let globex = q
        .get_account(get("domain:globex.com", "", 0, ""))
        .await?
        .into_inner();
    assert_eq!(
        (ids(&globex), globex.committee.len()),
        (vec!["G1".to_string()], 0)
    );

    // Pages of one give the whole list.
    let first = q
        .get_account(get("domain:acme.com", "", 1, ""))
        .await?
        .into_inner();
    assert_eq!(ids(&first), ["A1"]);
    assert!(!first.next_page_token.is_empty());
    let second = q
        .get_account(get("domain:acme.com", "", 1, &first.next_page_token))
        .await?
        .into_inner();
    assert_eq!(ids(&second), ["A2"]);
    assert_eq!(second.next_page_token, "");
    // The figures are the account's, whatever the page.
    assert_eq!(
        (second.lead_count, second.primary_lead_id.as_str()),
        (2, "A1")
    );

    // Account-level attribution follows the explicit account: A5's signing owes something to
    // A4's partner touch (another domain), nothing to the Acme-domain leads.
    assert_eq!(account_path_leads(&env, "A5").await?, ["A4", "A5"]);

    // BI tools see one primary contact per account, the one `GetAccount` names.
    let primaries: Vec<(String, String)> = sqlx::query_as(
        "SELECT account, lead_id FROM bi.account_contacts \
         WHERE tenant_id = $1 AND primary_contact ORDER BY 1",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(
        primaries,
        [
            ("account:crm-7".to_string(), "A5".to_string()),
            ("domain:acme.com".to_string(), "A1".to_string())
        ]
    );

    // Another tenant sees nothing.
    let other = q
        .get_account(pb::GetAccountRequest {
            tenant_id: "globex".into(),
            ..get("domain:acme.com", "", 0, "")
        })
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);

    // Merged into A1, A2 counts with its survivor, and asking by A2 answers A1's account.
    let mut identity = IdentityServiceClient::connect(format!("http://{}", env.addr)).await?;
    let merged = identity
        .merge_leads(pb::MergeLeadsRequest {
            tenant_id: T.into(),
            survivor_id: "A1".into(),
            merged_ids: vec!["A2".into()],
            reason: "one person".into(),
            requested_by: "ops@acme.example".into(),
            request_id: "m-1".into(),
        })
        .await?
        .into_inner();
    let by_merged = q
        .get_account(pb::GetAccountRequest {
            consistency_token: merged
                .decision
                .map(|d| d.consistency_token)
                .unwrap_or_default(),
            ..get("", "A2", 0, "")
        })
        .await?
        .into_inner();
    assert_eq!(by_merged.account, "domain:acme.com");
    assert_eq!(ids(&by_merged), ["A1"]);

    // A replay from offset 0 gives the same rows, accounts and roles included.
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    let live = dump_read_models(&env.store).await?;
    let replayed = env.replay("accounts-replay").await?;
    assert_same_rows(&dump_read_models(&replayed).await?, &live, "replay");
    env.cleanup().await
}

/// `(reached counts, accounts left out)` of a one-group account funnel (no group when empty).
fn account_counts(r: &pb::FunnelResponse) -> (Vec<i64>, i64) {
    let reached = r
        .groups
        .first()
        .map(|g| g.stages.iter().map(|s| s.leads).collect())
        .unwrap_or_default();
    (reached, r.accounts_left_out)
}

/// Linear revenue credits by channel of the account level under `scope`, and whether they
/// came from the precomputed credits.
async fn linear_by_scope(
    env: &TestEnv,
    scope: pb::AccountScope,
) -> anyhow::Result<(Vec<(String, i64)>, bool)> {
    let mut a = AttributionServiceClient::connect(format!("http://{}", env.addr)).await?;
    let r = a
        .attribution(pb::AttributionRequest {
            tenant_id: T.into(),
            model: "linear".into(),
            level: pb::AttributionLevel::Account.into(),
            account_scope: scope.into(),
            conversion: pb::ConversionKind::Revenue.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut groups: Vec<(String, i64)> =
        r.groups.into_iter().map(|g| (g.value, g.credit)).collect();
    groups.sort();
    Ok((groups, r.precomputed))
}

#[tokio::test]
async fn account_level_funnel_and_attribution_by_scope() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    let ack = append(&mut ingest, T, facts()).await?;
    env.wait_credits_caught_up(Duration::from_secs(60)).await?;
    let mut q = env.query().await?;
    let funnel = |scope: pb::AccountScope,
                  from: Option<DateTime<Utc>>,
                  as_of: Option<DateTime<Utc>>| pb::FunnelRequest {
        tenant_id: T.into(),
        level: pb::FunnelLevel::Account.into(),
        account_scope: scope.into(),
        captured_from: from.map(time_to_proto),
        as_of: as_of.map(time_to_proto),
        consistency_token: ack.consistency_token.clone(),
        ..Default::default()
    };
    use pb::AccountScope::*;
    // Accounts: acme.com (A1, A2: SQL), A3 alone (free mail), crm-7 (A4, A5: signed),
    // globex.com (G1, not involved).
    let all = q
        .funnel(funnel(AllContacts, None, None))
        .await?
        .into_inner();
    assert_eq!(account_counts(&all), (vec![4, 2, 2, 1, 1], 0));
    assert_eq!(all.level(), pb::FunnelLevel::Account);
    assert_eq!(all.groups[0].signed_amount_minor["CNY"], 90_000_000);
    // The committee leaves out A3 (no role) and globex (its only contact is not involved).
    let committee = q.funnel(funnel(Committee, None, None)).await?.into_inner();
    assert_eq!(account_counts(&committee), (vec![2, 2, 2, 1, 1], 2));
    assert_eq!(committee.account_scope(), Committee);
    // The primary contacts are A1 and A5.
    let primary = q
        .funnel(funnel(PrimaryContact, None, None))
        .await?
        .into_inner();
    assert_eq!(account_counts(&primary), (vec![2, 2, 2, 1, 1], 2));
    // An account is in a period by its opener's capture: from 6 March, only globex (every
    // contact; acme, A3 and crm-7 were opened before) or crm-7 (its primary contact A5 was
    // captured on the 6th).
    let from = Some(at(3, 6, 0));
    let all = q
        .funnel(funnel(AllContacts, from, None))
        .await?
        .into_inner();
    assert_eq!(account_counts(&all), (vec![1, 0, 0, 0, 0], 0));
    let primary = q
        .funnel(funnel(PrimaryContact, from, None))
        .await?
        .into_inner();
    assert_eq!(account_counts(&primary), (vec![1, 1, 1, 1, 1], 1));
    // The lead funnel is unchanged: six leads.
    let leads = q
        .funnel(pb::FunnelRequest {
            tenant_id: T.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(leads.groups[0].stages[0].leads, 6);
    assert_eq!(leads.level(), pb::FunnelLevel::Lead);

    // As of 19 March: A5 was still at acme.com (its CRM account came on the 20th) and not
    // yet accepted; acme's primary is A1 (SQL), crm-7's is A4 (captured).
    let primary = q
        .funnel(funnel(PrimaryContact, None, Some(at(3, 19, 0))))
        .await?
        .into_inner();
    assert_eq!(account_counts(&primary), (vec![2, 1, 1, 0, 0], 2));
    // At a cut after every fact, the folded leads give the live answer, every scope.
    for scope in [AllContacts, Committee, PrimaryContact] {
        for from in [None, Some(at(3, 6, 0))] {
            let live = q.funnel(funnel(scope, from, None)).await?.into_inner();
            let cut = q
                .funnel(funnel(scope, from, Some(at(12, 1, 0))))
                .await?
                .into_inner();
            assert_eq!(cut, live, "{scope:?} from {from:?}");
        }
    }

    // Account-level attribution of A5's 900 000.00 (linear). Every contact (precomputed) and
    // the committee: A4's website capture and partner touch, A5's two captures and SEM.
    let five = vec![
        ("partner".to_string(), 18_000_000),
        ("sem".to_string(), 18_000_000),
        ("website".to_string(), 54_000_000),
    ];
    assert_eq!(
        linear_by_scope(&env, Unspecified).await?,
        (five.clone(), true)
    );
    assert_eq!(linear_by_scope(&env, Committee).await?, (five, false));
    // The primary contact is A5 itself: no colleague's touch.
    assert_eq!(
        linear_by_scope(&env, PrimaryContact).await?,
        (
            vec![
                ("sem".to_string(), 30_000_000),
                ("website".to_string(), 60_000_000)
            ],
            false
        )
    );
    env.cleanup().await
}
