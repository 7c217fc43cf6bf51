//! The `[routing]` section of the policy file: the documented example parses to its rules
//! and roster, an absent section means no routing, and every mistake names its field.

use leadledger_domain::event::Segment;
use leadledger_sla::config::PolicyError;
use leadledger_sla::routing::Match;
use leadledger_sla::{PolicySet, RepConfig, Rule, Target};

/// The ```toml block of docs/SLA.md.
fn documented_example() -> &'static str {
    let doc = include_str!("../../../docs/SLA.md");
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let len = doc[start..].find("```").expect("closed");
    &doc[start..start + len]
}

fn team(t: &str) -> Target {
    Target::Team { team: t.into() }
}

#[test]
fn the_documented_routing_section_parses_to_its_rules_and_roster() {
    let set = PolicySet::from_toml(documented_example()).unwrap();
    let r = set.routing.expect("the example routes");
    assert_eq!(r.rules.default, team("inside-sales"));
    assert_eq!(
        r.rules.rules,
        vec![
            Rule {
                id: "east-ka".into(),
                when: Match {
                    regions: vec!["华东".into()],
                    segments: vec![Segment::Ka],
                    ..Match::default()
                },
                to: team("east-ka"),
            },
            Rule {
                id: "finance-partner".into(),
                when: Match {
                    industries: vec!["finance".into()],
                    segments: vec![Segment::Smb],
                    ..Match::default()
                },
                to: Target::Partner {
                    partner_id: "p-fin".into()
                },
            },
        ]
    );
    let rep = |id: &str, t: &str, cap, available| RepConfig {
        rep_id: id.into(),
        team: t.into(),
        cap,
        available,
        manager: String::new(),
    };
    assert_eq!(
        r.reps,
        vec![
            rep("wang.fang", "east-ka", Some(40), true),
            rep("li.na", "east-ka", None, false),
            rep("zhao.lei", "inside-sales", None, true),
        ]
    );
}

#[test]
fn no_routing_section_means_no_routing_and_a_queue_default_needs_no_roster() {
    assert_eq!(PolicySet::from_toml("version = 1").unwrap().routing, None);
    let set =
        PolicySet::from_toml("version = 1\n[routing]\ndefault = { queue = \"triage\" }").unwrap();
    let r = set.routing.unwrap();
    assert_eq!(
        r.rules.default,
        Target::Queue {
            queue: "triage".into()
        }
    );
    assert!(r.rules.rules.is_empty() && r.reps.is_empty());
}

/// `field: message` of a file-level error.
fn error(routing: &str) -> String {
    match PolicySet::from_toml(&format!("version = 1\n[routing]\n{routing}")) {
        Err(PolicyError::File { field, message }) => format!("{field}: {message}"),
        other => panic!("expected a file error for {routing:?}, got {other:?}"),
    }
}

const DEFAULT: &str = "default = { team = \"t\" }\n";

#[test]
fn routing_mistakes_name_the_field() {
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "routing.default: required"),
        (format!("{DEFAULT}rules = []"), "routing.rules: unknown key"),
        ("default = { team = \"\" }".into(), "routing.default.team: must name"),
        ("default = { squad = \"x\" }".into(), "routing.default.squad: unknown key"),
        ("default = {}".into(), "routing.default: needs one of team, queue, partner"),
        (
            "default = { team = \"a\", queue = \"b\" }".into(),
            "routing.default: give only one",
        ),
        ("default = \"t\"".into(), "routing.default: expected a table"),
        (
            format!("{DEFAULT}[[routing.rule]]\nto = {{ team = \"x\" }}"),
            "routing.rule[1].id: required",
        ),
        (
            format!("{DEFAULT}[[routing.rule]]\nid = \"r\""),
            "routing.rule `r`.to: required",
        ),
        (
            format!("{DEFAULT}[[routing.rule]]\nid = \"r\"\nto = {{ team = \"x\" }}\nsegments = [\"MID\"]"),
            "routing.rule `r`.segments[0]: `MID` is not KA or SMB",
        ),
        (
            format!("{DEFAULT}[[routing.rule]]\nid = \"r\"\nto = {{ team = \"x\" }}\nregion = [\"华东\"]"),
            "routing.rule `r`.region: unknown key",
        ),
        (
            format!("{DEFAULT}[[routing.rule]]\nid = \"r\"\nto = {{ partner = \"\" }}"),
            "routing.rule `r`.to.partner: must name",
        ),
        (
            format!(
                "{DEFAULT}[[routing.rule]]\nid = \"r\"\nto = {{ team = \"x\" }}\n\
                 [[routing.rule]]\nid = \"r\"\nto = {{ team = \"y\" }}"
            ),
            "routing.rule `r`: id is used by another rule",
        ),
        (format!("{DEFAULT}[[routing.rep]]\nteam = \"t\""), "routing.rep[1].id: required"),
        (format!("{DEFAULT}[[routing.rep]]\nid = \"a\""), "routing.rep `a`.team: required"),
        (
            format!("{DEFAULT}[[routing.rep]]\nid = \"a\"\nteam = \" \""),
            "routing.rep `a`.team: required",
        ),
        (
            format!("{DEFAULT}[[routing.rep]]\nid = \"a\"\nteam = \"t\"\ncap = -1"),
            "routing.rep `a`.cap: -1 is not a number of open leads",
        ),
        (
            format!("{DEFAULT}[[routing.rep]]\nid = \"a\"\nteam = \"t\"\navailable = \"no\""),
            "routing.rep `a`.available: expected true or false",
        ),
        (
            format!(
                "{DEFAULT}[[routing.rep]]\nid = \"a\"\nteam = \"t\"\n\
                 [[routing.rep]]\nid = \"a\"\nteam = \"u\""
            ),
            "routing.rep `a`.id: is used by another rep",
        ),
        (format!("{DEFAULT}rep = 1"), "routing.rep: expected [[routing.rep]] tables"),
        (format!("{DEFAULT}rep = [1]"), "routing.rep[0]: must be a [[routing.rep]] table"),
    ];
    for (routing, want) in cases {
        let got = error(&routing);
        assert!(
            got.starts_with(want),
            "{routing:?}\n  got:  {got}\n  want: {want}…"
        );
    }
}

#[test]
fn routing_errors_read_well() {
    let e = PolicySet::from_toml(
        "version = 1\n[routing]\ndefault = { team = \"t\" }\n[[routing.rep]]\nid = \"a\"\nteam = \"t\"\ncap = -1",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "policy file: routing.rep `a`.cap: -1 is not a number of open leads (0 or more)"
    );
}
