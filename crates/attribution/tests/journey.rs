//! Journeys read from domain events, and contact- vs account-level attribution.

mod common;

use common::*;
use leadledger_attribution::account::{account_path, key_of, AccountKey};
use leadledger_attribution::{
    attribute, channel_paths, credit, journey, journeys, ConversionKind, Level, Model, TouchKind,
    COUNT_UNIT,
};
use leadledger_domain::event::{LeadCaptured, LeadSource};
use leadledger_domain::Payload;

/// Capture (webinar) → touch (e-mail) → MQL → SQL → touch (event) → signed 50 000.00.
fn lead_events() -> Vec<leadledger_domain::Event> {
    vec![
        captured("L1", 1, day(0), "webinar", "Acme.com", "li@acme.com"),
        touched("L1", 2, day(3), "email"),
        mql("L1", 3, day(4)),
        sql("L1", 4, day(10)),
        touched("L1", 5, day(12), "event"),
        signed("L1", 6, day(20), 5_000_000),
    ]
}

#[test]
fn journey_reads_touches_milestones_and_conversions() {
    let j = journey(&lead_events());
    assert_eq!(j.lead_id, "L1");
    assert_eq!(j.company_domain, "Acme.com");
    let kinds: Vec<_> = j
        .path
        .touches
        .iter()
        .map(|t| (t.channel.as_str(), t.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("webinar", TouchKind::Capture),
            ("email", TouchKind::Touch),
            ("event", TouchKind::Touch)
        ]
    );
    assert_eq!(j.path.milestones.capture, Some(id(1)));
    assert_eq!(j.path.milestones.sql_at, Some(day(10)));
    assert_eq!(j.path.milestones.signed_at, Some(day(20)));
    let convs: Vec<_> = j
        .conversions
        .iter()
        .map(|c| (c.kind, c.at, c.value_minor))
        .collect();
    assert_eq!(
        convs,
        [
            (ConversionKind::Mql, day(4), COUNT_UNIT),
            (ConversionKind::Sql, day(10), COUNT_UNIT),
            // Signed without a POC reached POC "or beyond", as in the funnels.
            (ConversionKind::Poc, day(20), COUNT_UNIT),
            (ConversionKind::Signed, day(20), COUNT_UNIT),
            (ConversionKind::Revenue, day(20), 5_000_000),
        ]
    );
    assert_eq!(
        j.conversion(ConversionKind::Revenue).unwrap().currency,
        "CNY"
    );

    // Revenue under full path: FT = LC = capture (45), OC = e-mail (22.5), CW = event
    // (22.5), no others → 50 % / 25 % / 25 %.
    let rev = j.conversion(ConversionKind::Revenue).unwrap();
    let credits = credit(rev, &j.path, &Model::FullPath).unwrap();
    let got: Vec<_> = credits.iter().map(|c| c.amount_minor).collect();
    assert_eq!(got, [2_500_000, 1_250_000, 1_250_000]);
    // The MQL on day 4 sees only the first two touches.
    let m = j.conversion(ConversionKind::Mql).unwrap();
    assert_eq!(credit(m, &j.path, &Model::Linear).unwrap().len(), 2);
}

#[test]
fn order_duplicates_and_unknown_events_do_not_matter() {
    let mut events = lead_events();
    events.push(events[1].clone()); // a redelivered touch
    let mut unknown = touched("L1", 99, day(1), "ghost");
    unknown.schema_version = 99; // written by a newer schema: not folded
    events.push(unknown);
    events.push(event(
        "L1",
        98,
        day(2),
        Payload::Unknown {
            event_type: "future_thing".into(),
        },
    ));
    let a = journey(&events);
    events.reverse();
    let b = journey(&events);
    assert_eq!(a, b);
    assert_eq!(a, journey(&lead_events()));
}

#[test]
fn touches_at_the_same_instant_are_ordered_by_event_id() {
    let events = vec![
        touched("L1", 7, day(1), "sem"),
        captured("L1", 9, day(1), "webinar", "", ""),
        touched("L1", 8, day(1), "email"),
    ];
    let j = journey(&events);
    let order: Vec<_> = j.path.touches.iter().map(|t| t.channel.as_str()).collect();
    assert_eq!(order, ["sem", "email", "webinar"]);
    // FT is the sem touch (smallest id), LC the capture even though it is last.
    let s = j.path.slots();
    assert_eq!((s.first, s.lead_creation), (Some(0), Some(2)));
}

#[test]
fn a_skipped_mql_is_reached_with_the_sql() {
    let events = vec![
        captured("L1", 1, day(0), "referral", "", ""),
        sql("L1", 2, day(5)),
    ];
    let j = journey(&events);
    let mql = j.conversion(ConversionKind::Mql).unwrap();
    assert_eq!(mql.at, day(5));
    assert!(j.conversion(ConversionKind::Poc).is_none());
    assert!(j.conversion(ConversionKind::Revenue).is_none());
}

#[test]
fn the_earliest_capture_is_lead_creation_and_utm_fills_gaps() {
    let mut later = captured("L1", 1, day(9), "event", "", "");
    let early = event(
        "L1",
        2,
        day(1),
        Payload::LeadCaptured(LeadCaptured {
            source: LeadSource {
                channel: "sem".into(),
                utm_campaign: "q1-launch".into(),
                utm_term: "crm software".into(),
                ..LeadSource::default()
            },
            ..LeadCaptured::default()
        }),
    );
    if let Payload::LeadCaptured(c) = &mut later.payload {
        c.source.keyword = "own keyword".into();
    }
    let j = journey(&[later, early]);
    assert_eq!(j.path.milestones.capture, Some(id(2)));
    let t = &j.path.touches[0];
    assert_eq!(
        (t.channel.as_str(), t.campaign.as_str(), t.keyword.as_str()),
        ("sem", "q1-launch", "crm software")
    );
    // The later capture is a touchpoint too (another form fill), not a second LC.
    assert_eq!(j.path.touches[1].kind, TouchKind::Capture);
    assert_eq!(j.path.touches[1].keyword, "own keyword");
}

#[test]
fn a_lead_with_no_touch_before_converting_is_unattributed() {
    // Only an MQL and a later touch: nothing to credit at the MQL.
    let events = vec![mql("L1", 1, day(0)), touched("L1", 2, day(3), "email")];
    let js = journeys(&events);
    let out = attribute(&js, ConversionKind::Mql, Level::Contact, &Model::Linear).unwrap();
    assert!(out.credited.is_empty());
    assert_eq!(out.unattributed.len(), 1);
}

/// Acme: A converts (signed day 30); B is a colleague with touches in the window; E is a
/// colleague whose only touch is 105 days before the deal and 95 days before A's first
/// conversion (MQL, reached with SQL on day 20): outside the 90-day window of all of them.
/// Q and R write from qq.com: never an account. Solo is alone at its domain.
fn tenant() -> Vec<leadledger_domain::Event> {
    vec![
        // A
        captured("A", 1, day(0), "webinar", "acme.com", "a@acme.com"),
        touched("A", 2, day(10), "email"),
        sql("A", 3, day(20)),
        signed("A", 4, day(30), 100_000),
        // B (colleague, in the window)
        captured("B", 11, day(5), "seo", "ACME.com", "b@acme.com"),
        touched("B", 12, day(25), "event"),
        touched("B", 13, day(40), "partner"), // after A's deal: not on A's path
        // E (colleague, outside the window)
        captured("E", 21, day(-75), "list", "www.acme.com", ""),
        // Q and R share a free-mail domain
        captured("Q", 31, day(0), "social", "", "q@qq.com"),
        signed("Q", 32, day(10), 40_000),
        captured("R", 41, day(2), "event", "qq.com", "r@qq.com"),
        // Solo
        captured("S", 51, day(0), "sem", "solo.cn", "s@solo.cn"),
        touched("S", 52, day(3), "email"),
        signed("S", 53, day(9), 30_000),
    ]
}

#[test]
fn leads_group_by_domain_but_never_by_free_mail() {
    let js = journeys(&tenant());
    let key = |lead: &str| key_of(js.iter().find(|j| j.lead_id == lead).unwrap());
    assert_eq!(key("A"), AccountKey::Domain("acme.com".into()));
    assert_eq!(key("B"), key("A"));
    assert_eq!(key("E"), key("A"));
    assert_eq!(key("Q"), AccountKey::Lead("Q".into()));
    assert_eq!(key("R"), AccountKey::Lead("R".into()));
}

#[test]
fn account_path_adds_colleagues_touches_in_the_window() {
    let js = journeys(&tenant());
    let find = |lead: &str| js.iter().find(|j| j.lead_id == lead).unwrap();
    let members = [find("A"), find("B"), find("E")];
    let p = account_path(&members, find("A"), day(30), chrono::Duration::days(90));
    let cut = p.until(day(30));
    let seen: Vec<_> = cut
        .touches
        .iter()
        .map(|t| (t.lead_id.as_str(), t.channel.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("A", "webinar"),
            ("B", "seo"),
            ("A", "email"),
            ("B", "event")
        ]
    );
    // E's capture at day −75 is 105 days before the deal: outside. A 110-day window
    // reaches it, and then FT is a colleague's touch.
    let wide = account_path(&members, find("A"), day(30), chrono::Duration::days(110));
    assert_eq!(wide.touches[0].lead_id, "E");
    assert_eq!(wide.slots().first, Some(0));
    // Milestones stay A's: LC is A's capture.
    assert_eq!(
        wide.touches[wide.slots().lead_creation.unwrap()].event_id,
        id(1)
    );
}

#[test]
fn account_level_differs_exactly_where_colleagues_touched() {
    let js = journeys(&tenant());
    for model in Model::rule_based() {
        let contact = attribute(&js, ConversionKind::Revenue, Level::Contact, &model).unwrap();
        let account = attribute(&js, ConversionKind::Revenue, Level::account(), &model).unwrap();
        assert_eq!(contact.credited.len(), 3); // A, Q, S
        for (c, a) in contact.credited.iter().zip(&account.credited) {
            assert_eq!(c.conversion, a.conversion);
            let sum = |x: &leadledger_attribution::Attributed| {
                x.credits.iter().map(|c| c.amount_minor).sum::<i64>()
            };
            assert_eq!(sum(c), c.conversion.value_minor);
            assert_eq!(sum(a), a.conversion.value_minor);
            // Only A's account has colleague touches in the window.
            let colleagues_touched = c.conversion.lead_id == "A";
            assert_eq!(
                c.credits != a.credits,
                colleagues_touched,
                "{}",
                model.name()
            );
        }
    }
    // Linear on A: contact = webinar, e-mail 50 % each; account = 4 touches, 25 % each.
    let contact = attribute(&js, ConversionKind::Revenue, Level::Contact, &Model::Linear).unwrap();
    let account = attribute(
        &js,
        ConversionKind::Revenue,
        Level::account(),
        &Model::Linear,
    )
    .unwrap();
    let a_contact = &contact.credited[0];
    let a_account = &account.credited[0];
    assert_eq!(a_contact.conversion.lead_id, "A");
    assert_eq!(
        a_contact
            .credits
            .iter()
            .map(|c| c.amount_minor)
            .collect::<Vec<_>>(),
        [50_000, 50_000]
    );
    assert_eq!(
        a_account
            .credits
            .iter()
            .map(|c| c.amount_minor)
            .collect::<Vec<_>>(),
        [25_000; 4]
    );
    // B's seo visit now earns a quarter of A's deal; at contact level it earned nothing.
    assert_eq!(account.by_channel()["seo"], 25_000);
    assert!(!contact.by_channel().contains_key("seo"));
}

#[test]
fn identical_colleague_free_accounts_agree() {
    // The same tenant without B: A's account has only E, outside the window → both levels
    // agree for every conversion.
    let events: Vec<_> = tenant().into_iter().filter(|e| e.lead_id != "B").collect();
    let js = journeys(&events);
    for model in Model::rule_based() {
        for kind in ConversionKind::ALL {
            let c = attribute(&js, kind, Level::Contact, &model).unwrap();
            let a = attribute(&js, kind, Level::account(), &model).unwrap();
            assert_eq!(c, a, "{} {:?}", model.name(), kind);
        }
    }
}

#[test]
fn channel_paths_per_lead_and_per_account() {
    let js = journeys(&tenant());
    let contact = channel_paths(&js, ConversionKind::Revenue, Level::Contact);
    // One per lead with touches: A, B, E, Q, R, S.
    assert_eq!(contact.len(), 6);
    let a = &contact[0];
    assert_eq!(
        (a.channels.clone(), a.converted),
        (vec!["webinar".into(), "email".into()], true)
    );
    let b = &contact[1];
    assert_eq!(b.channels, ["seo", "event", "partner"]);
    assert!(!b.converted);

    let account = channel_paths(&js, ConversionKind::Revenue, Level::account());
    // Accounts: acme (A+B+E), Q, R, solo.cn.
    assert_eq!(account.len(), 4);
    let acme = account
        .iter()
        .find(|p| p.channels.first().map(String::as_str) == Some("webinar"))
        .unwrap();
    assert_eq!(acme.channels, ["webinar", "seo", "email", "event"]);
    assert_eq!((acme.converted, acme.value_minor), (true, 100_000));
}

/// A's account with roles: B is a champion (day 1), E the primary decision maker (day 2).
fn tenant_with_roles() -> Vec<leadledger_domain::Event> {
    use leadledger_domain::account::{ContactRole, RoleAssigned};
    let role = |lead: &str, n: u128, at, role: ContactRole, primary: bool| {
        event(
            lead,
            n,
            at,
            Payload::ContactRoleAssigned(RoleAssigned {
                role: role.number(),
                primary,
                rep_id: String::new(),
            }),
        )
    };
    let mut events = tenant();
    events.push(role("B", 14, day(1), ContactRole::Champion, false));
    events.push(role("E", 22, day(2), ContactRole::DecisionMaker, true));
    events
}

#[test]
fn the_account_scope_chooses_whose_touches_count() {
    use leadledger_attribution::Scope;
    let level = |scope| Level::Account {
        lookback_days: 110,
        scope,
    };
    let channels_of_a = |events: &[leadledger_domain::Event], scope| {
        let js = journeys(events);
        let a = attribute(&js, ConversionKind::Revenue, level(scope), &Model::Linear).unwrap();
        let a = a
            .credited
            .iter()
            .find(|x| x.conversion.lead_id == "A")
            .unwrap()
            .credits
            .iter()
            .map(|c| c.channel.clone())
            .collect::<Vec<_>>();
        a
    };
    let roles = tenant_with_roles();
    // Every contact: E's list (day −75), A's webinar, B's seo, A's e-mail, B's event.
    assert_eq!(
        channels_of_a(&roles, Scope::AllContacts),
        ["list", "webinar", "seo", "email", "event"]
    );
    // The committee: B and E hold roles.
    assert_eq!(
        channels_of_a(&roles, Scope::Committee),
        ["list", "webinar", "seo", "email", "event"]
    );
    // The primary contact: E alone beside A's own.
    assert_eq!(
        channels_of_a(&roles, Scope::PrimaryContact),
        ["list", "webinar", "email"]
    );
    // Without roles, the committee and the primary contact select no colleague: the
    // converting lead's own path stays.
    let plain = tenant();
    assert_eq!(
        channels_of_a(&plain, Scope::Committee),
        ["webinar", "email"]
    );
    assert_eq!(
        channels_of_a(&plain, Scope::PrimaryContact),
        ["webinar", "email"]
    );
    // B taken off the committee: its touches leave A's path.
    let mut off = tenant_with_roles();
    off.push(event(
        "B",
        15,
        day(3),
        Payload::ContactRoleAssigned(leadledger_domain::account::RoleAssigned {
            role: leadledger_domain::account::ContactRole::NotInvolved.number(),
            primary: false,
            rep_id: String::new(),
        }),
    ));
    assert_eq!(
        channels_of_a(&off, Scope::Committee),
        ["list", "webinar", "email"]
    );
    // The data-driven paths of a non-converting account take the selected members only.
    let paths = channel_paths(
        &journeys(&roles),
        ConversionKind::Revenue,
        level(Scope::PrimaryContact),
    );
    assert!(paths
        .iter()
        .any(|p| p.channels == ["list", "webinar", "email"] && p.converted));
    // An account that selects nobody and never converted keeps all its leads' touches: the
    // committee of a tenant without roles learns from the same accounts as every contact.
    let plain = journeys(&tenant());
    let all = channel_paths(&plain, ConversionKind::Revenue, level(Scope::AllContacts));
    let committee = channel_paths(&plain, ConversionKind::Revenue, level(Scope::Committee));
    assert_eq!(committee.len(), all.len());
    assert_eq!(
        committee
            .iter()
            .filter(|p| !p.converted)
            .collect::<Vec<_>>(),
        all.iter().filter(|p| !p.converted).collect::<Vec<_>>()
    );
}
