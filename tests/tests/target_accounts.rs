//! Target accounts, coverage and renewals (issue 18 item 6, docs/IDENTITY.md "Target
//! accounts, coverage and renewals"), against the real broker and PostgreSQL: the list with
//! its tiers and owners, who covers each account in which role and the key accounts that
//! nobody covers, customers (an account with a signed lead), renewal dates whose warning
//! starts early and which fall due on their date, paging, and a replay from offset 0.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::{self, event::Payload, CoverageRole, RenewalState};
use leadledger_e2e::events::{accepted, at, event, mql, signed};
use leadledger_e2e::{append, assert_same_rows, dump_read_models, TestEnv};

const T: &str = "acme";

fn account_fact(src: &str, when: DateTime<Utc>, payload: Payload) -> pb::Event {
    event("", "crm", src, when, payload)
}

fn listed(src: &str, account: &str, tier: &str, owner: &str) -> pb::Event {
    account_fact(
        src,
        at(3, 1, 9),
        Payload::TargetAccountListed(pb::TargetAccountListed {
            account: account.into(),
            name: account.to_uppercase(),
            tier: tier.into(),
            owner_rep_id: owner.into(),
            ..Default::default()
        }),
    )
}

fn covers(
    src: &str,
    hour: u32,
    account: &str,
    role: CoverageRole,
    rep: &str,
    removed: bool,
) -> pb::Event {
    account_fact(
        src,
        at(3, 2, hour),
        Payload::AccountCoverageAssigned(pb::AccountCoverageAssigned {
            account: account.into(),
            role: role as i32,
            rep_id: rep.into(),
            removed,
        }),
    )
}

fn renews(src: &str, account: &str, contract: &str, on: &str) -> pb::Event {
    account_fact(
        src,
        at(3, 3, 9),
        Payload::RenewalScheduled(pb::RenewalScheduled {
            account: account.into(),
            contract_id: contract.into(),
            renews_on: on.into(),
            amount_minor: 1_200_000,
            currency: "CNY".into(),
        }),
    )
}

fn capture(lead: &str, domain: &str) -> pb::Event {
    event(
        lead,
        "salesforce",
        &format!("cap-{lead}"),
        at(3, 1, 8),
        Payload::LeadCaptured(pb::LeadCaptured {
            contact: Some(pb::Contact {
                email: format!("{}@{domain}", lead.to_lowercase()),
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

fn request(f: impl FnOnce(&mut pb::ListTargetAccountsRequest)) -> pb::ListTargetAccountsRequest {
    let mut r = pb::ListTargetAccountsRequest {
        tenant_id: T.into(),
        ..Default::default()
    };
    f(&mut r);
    r
}

fn keys(r: &pb::ListTargetAccountsResponse) -> Vec<&str> {
    r.accounts.iter().map(|a| a.account.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn coverage_customers_and_renewal_warnings() -> anyhow::Result<()> {
    use CoverageRole::*;
    let mut env = TestEnv::start(3).await?;
    let mut ingest = env.ingest().await?;
    let ack = append(
        &mut ingest,
        T,
        vec![
            listed("l1", "bigco.com", "KA", "ann"),
            listed("l2", "small.io", "SMB", ""),
            listed("l3", "account:crm-99", "KA", ""),
            covers("c1", 9, "bigco.com", AccountExecutive, "ann", false),
            covers("c2", 10, "bigco.com", Presales, "pat", false),
            covers("c3", 11, "bigco.com", Service, "sam", false),
            // Taken back: nobody covers BigCo's service any more.
            covers("c4", 12, "bigco.com", Service, "sam", true),
            covers("c5", 9, "small.io", ChannelPartner, "p-1", false),
            // Assigned again later: since moves to the latest assignment.
            covers("c6", 13, "bigco.com", Presales, "pat", false),
            // A customer not on the list: two contracts; BigCo's contract rescheduled.
            renews("r1", "cust.com", "C-1", "2027-01-15"),
            renews("r2", "cust.com", "C-2", "2027-06-01"),
            renews("r3", "bigco.com", "C-9", "2027-02-01"),
            renews("r4", "bigco.com", "C-9", "2027-03-01"),
            capture("K1", "bigco.com"),
            capture("K2", "bigco.com"),
            mql("K1", "m1", at(3, 4, 9)),
            accepted("K1", "a1", at(3, 5, 9), "ann"),
            signed("K1", "s1", at(3, 6, 9), 5_000_000),
            capture("C1", "cust.com"),
            signed("C1", "s2", at(3, 6, 9), 1_200_000),
        ],
    )
    .await?;
    let mut q = env.query().await?;
    let at_day = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap();

    // Everything: the listed accounts and the customer with renewals, by key.
    let all = q
        .list_target_accounts(request(|r| {
            r.consistency_token = ack.consistency_token.clone();
            r.as_of = Some(time_to_proto(at_day(2026, 12, 20)));
            r.warn_days = Some(30);
        }))
        .await?
        .into_inner();
    assert_eq!(
        keys(&all),
        [
            "account:crm-99",
            "domain:bigco.com",
            "domain:cust.com",
            "domain:small.io"
        ]
    );
    let big = &all.accounts[1];
    assert_eq!((big.tier.as_str(), big.name.as_str()), ("KA", "BIGCO.COM"));
    assert_eq!(big.owner.as_ref().unwrap().rep_id, "ann");
    assert_eq!(
        big.coverage
            .iter()
            .map(|c| (c.role(), c.rep_id.as_str()))
            .collect::<Vec<_>>(),
        [(AccountExecutive, "ann"), (Presales, "pat")]
    );
    assert_eq!(big.coverage[1].since, Some(time_to_proto(at(3, 2, 13))));
    assert_eq!(
        big.missing_roles().collect::<Vec<_>>(),
        [ChannelPartner, ProductSpecialist, Service]
    );
    assert_eq!((big.leads, big.signed_leads, big.customer), (2, 1, true));
    assert_eq!(big.renewals.len(), 1, "the contract's latest date holds");
    assert_eq!(big.renewals[0].renews_on, "2027-03-01");
    assert_eq!(big.renewals[0].state(), RenewalState::Upcoming);
    let cust = &all.accounts[2];
    assert_eq!((cust.tier.as_str(), cust.customer), ("", true));
    assert_eq!(
        cust.renewals
            .iter()
            .map(|r| (r.contract_id.as_str(), r.state()))
            .collect::<Vec<_>>(),
        [
            ("C-1", RenewalState::Warning),
            ("C-2", RenewalState::Upcoming)
        ]
    );
    assert_eq!(
        cust.renewals[0].warn_from,
        Some(time_to_proto(
            Utc.with_ymd_and_hms(2026, 12, 16, 0, 0, 0).unwrap()
        ))
    );
    assert!(!all.accounts[0].customer && all.accounts[0].owner.is_none());

    // The key accounts nobody covers: in some role, or as account executive.
    let uncovered = q
        .list_target_accounts(request(|r| {
            r.tier = "KA".into();
            r.uncovered_only = true;
        }))
        .await?
        .into_inner();
    assert_eq!(keys(&uncovered), ["account:crm-99", "domain:bigco.com"]);
    let no_ae = q
        .list_target_accounts(request(|r| {
            r.tier = "KA".into();
            r.uncovered_only = true;
            r.required_roles = vec![AccountExecutive as i32];
        }))
        .await?
        .into_inner();
    assert_eq!(keys(&no_ae), ["account:crm-99"]);
    assert_eq!(
        no_ae.accounts[0].missing_roles().collect::<Vec<_>>(),
        [AccountExecutive]
    );

    // Renewals needing attention: warning at first, then due on the date.
    for (when, want, state) in [
        (
            at_day(2026, 12, 20),
            vec!["domain:cust.com"],
            RenewalState::Warning,
        ),
        (
            at_day(2027, 1, 15),
            vec!["domain:cust.com"],
            RenewalState::Due,
        ),
        (
            at_day(2027, 2, 1),
            vec!["domain:bigco.com", "domain:cust.com"],
            RenewalState::Due,
        ),
    ] {
        let due = q
            .list_target_accounts(request(|r| {
                r.renewals_only = true;
                r.as_of = Some(time_to_proto(when));
                r.warn_days = Some(30);
            }))
            .await?
            .into_inner();
        assert_eq!(keys(&due), want, "{when}");
        let cust = due
            .accounts
            .iter()
            .find(|a| a.account == "domain:cust.com")
            .unwrap();
        assert_eq!(cust.renewals[0].state(), state, "{when}");
    }

    // Pages of one give the whole list.
    let mut token = String::new();
    let mut paged = Vec::new();
    loop {
        let page = q
            .list_target_accounts(request(|r| {
                r.page_size = 1;
                r.page_token = token.clone();
            }))
            .await?
            .into_inner();
        paged.extend(page.accounts.into_iter().map(|a| a.account));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, keys(&all));

    // Refused: an unknown role, a warning too long.
    let bad = q
        .list_target_accounts(request(|r| {
            r.required_roles = vec![9];
            r.warn_days = Some(1000);
        }))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        leadledger_e2e::violation_fields(&bad),
        ["required_roles[0]", "warn_days"]
    );

    env.wait_caught_up(Duration::from_secs(60)).await?;
    let live = dump_read_models(&env.store).await?;
    assert!(live.iter().any(|r| r.starts_with("account_coverage: ")));
    assert!(live.iter().any(|r| r.starts_with("account_renewals: ")));
    let replayed = env.replay("target-accounts-replay").await?;
    assert_same_rows(&dump_read_models(&replayed).await?, &live, "replay");
    env.cleanup().await
}
