//! The policy file: the documented example parses to the shipped defaults, and every kind of
//! mistake is refused with the policy id and the field.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use leadledger_sla::config::PolicyError;
use leadledger_sla::policy::{default_policies, format_allowance, parse_allowance};
use leadledger_sla::{FeedbackRequirements, PolicySet};

/// The ```toml block of docs/SLA.md.
fn documented_example() -> &'static str {
    let doc = include_str!("../../../docs/SLA.md");
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let len = doc[start..].find("```").expect("closed");
    &doc[start..start + len]
}

#[test]
fn the_documented_example_is_the_defaults_with_a_shanghai_calendar() {
    let set = PolicySet::from_toml(documented_example()).unwrap();
    assert_eq!(set.version, 1);
    assert_eq!(set.policies, default_policies());
    assert_eq!(set.policies, PolicySet::defaults().policies);
    assert_eq!(set.feedback, FeedbackRequirements::default());
    let cal = &set.calendar;
    assert_eq!(cal.tz(), chrono_tz::Asia::Shanghai);
    let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
    assert!(cal.holidays().contains(&d(10, 1)));
    assert!(cal.makeup_days().contains(&d(9, 28)));
    assert_eq!(cal.hours_on(d(9, 29)).len(), 2, "split Monday");
    assert_eq!(
        cal.hours_on(d(9, 28)),
        cal.hours_on(d(9, 29)),
        "make-up = Monday"
    );
    // Lunch on a make-up Sunday is not working time.
    let lunch = Utc.with_ymd_and_hms(2025, 9, 28, 4, 30, 0).unwrap();
    assert!(!cal.is_working(lunch));
}

#[test]
fn the_defaults_are_the_five_shipped_policies() {
    let set = PolicySet::defaults();
    let summary: Vec<(&str, Duration, bool, f64)> = set
        .policies
        .iter()
        .map(|p| (p.id.as_str(), p.allowance, p.business_time, p.at_risk_share))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("mql-follow-up", Duration::hours(24), true, 0.8),
            ("mql-accept-reject", Duration::hours(48), true, 0.8),
            ("partner-accept", Duration::hours(48), false, 0.8),
            ("sql-poc-start", Duration::days(30), false, 0.8),
            ("poc-decision", Duration::days(45), false, 0.8),
        ]
    );
    for p in &set.policies {
        assert!(p.stop_on.contains(&leadledger_sla::EventKind::Recycled));
        assert!(p.stop_on.contains(&leadledger_sla::EventKind::Disqualified));
    }
}

#[test]
fn a_wall_time_only_file_needs_no_calendar_and_empty_means_no_clocks() {
    let set = PolicySet::from_toml(
        r#"
        version = 1
        [[policy]]
        id = "p"
        start = ["mql_qualified"]
        target = ["sales_accepted"]
        allowance = "1h30m"
        business_time = false
        segments = ["ka"]
        regions = ["华东"]
        "#,
    )
    .unwrap();
    let p = &set.policies[0];
    assert_eq!(p.allowance, Duration::minutes(90));
    assert_eq!(p.version, 1);
    assert_eq!(p.name, "p");
    assert_eq!(p.stop_on.len(), 2, "recycled and disqualified by default");
    assert_eq!(set.calendar.tz(), chrono_tz::UTC);

    let empty = PolicySet::from_toml("version = 1").unwrap();
    assert!(empty.policies.is_empty());
}

const GOOD: &str = r#"
id = "p1"
start = ["mql_qualified"]
target = ["follow_up_logged"]
allowance = "24h"
business_time = true
"#;

/// A file with a calendar and one policy: GOOD with `edit` appended (later keys must not
/// repeat GOOD's).
fn file_with(edit: &str, policy: &str) -> String {
    format!(
        "version = 1\n[calendar]\ntime_zone = \"Asia/Shanghai\"\n[[policy]]\n{policy}\n{edit}\n"
    )
}

fn policy_error(edit: &str, policy: &str) -> (String, String, String) {
    match PolicySet::from_toml(&file_with(edit, policy)) {
        Err(PolicyError::Policy {
            policy,
            field,
            message,
        }) => (policy, field, message),
        other => panic!("expected a policy error for {edit:?}, got {other:?}"),
    }
}

#[test]
fn policy_mistakes_name_the_policy_and_the_field() {
    let cases = [
        ("allowence = \"2h\"", "allowence", "unknown key"),
        ("at_risk_share = 1.5", "at_risk_share", "must be in (0, 1]"),
        ("at_risk_share = 0", "at_risk_share", "must be in (0, 1]"),
        (
            "at_risk_share = \"high\"",
            "at_risk_share",
            "expected a number",
        ),
        ("segments = [\"MID\"]", "segments[0]", "not KA or SMB"),
        (
            "stop_on = [\"recycled\", \"vanished\"]",
            "stop_on[1]",
            "not an event kind",
        ),
        (
            "stop_on = [\"follow_up_logged\"]",
            "stop_on",
            "also in `target`",
        ),
        ("version = 0", "version", "not a positive integer"),
        (
            "regions = \"华东\"",
            "regions",
            "expected an array of strings",
        ),
        ("channels = [1]", "channels[0]", "expected a string"),
    ];
    for (edit, field, msg) in cases {
        let (policy, f, m) = policy_error(edit, GOOD);
        assert_eq!((policy.as_str(), f.as_str()), ("p1", field), "{edit}");
        assert!(m.contains(msg), "{edit}: {m}");
    }
}

#[test]
fn bad_required_values_are_named_too() {
    let base = |allowance: &str, bt: &str| {
        format!(
            "id = \"p1\"\nstart = [\"mql_qualified\"]\ntarget = [\"sales_accepted\"]\n{allowance}\n{bt}"
        )
    };
    let cases = [
        (
            base("allowance = \"3d\"", "business_time = true"),
            "allowance",
            "use hours",
        ),
        (
            base("allowance = \"24\"", "business_time = true"),
            "allowance",
            "not a duration",
        ),
        (
            base("allowance = \"0h\"", "business_time = false"),
            "allowance",
            "longer than zero",
        ),
        (
            base("allowance = \"9999d\"", "business_time = false"),
            "allowance",
            "3650",
        ),
        (
            base("allowance = 24", "business_time = false"),
            "allowance",
            "expected a string",
        ),
        (base("allowance = \"24h\"", ""), "business_time", "required"),
        (base("", "business_time = true"), "allowance", "required"),
    ];
    for (policy, field, msg) in cases {
        let (p, f, m) = policy_error("", &policy);
        assert_eq!((p.as_str(), f.as_str()), ("p1", field), "{policy}");
        assert!(m.contains(msg), "{policy}: {m}");
    }
    let (p, f, _) = policy_error("", "start = [\"mql_qualified\"]");
    assert_eq!(
        (p.as_str(), f.as_str()),
        ("#1", "id"),
        "no id yet: by position"
    );
    let (_, f, _) = policy_error("", "id = \"bad id\"");
    assert_eq!(f, "id");
    let dup = format!("{GOOD}\n[[policy]]\n{GOOD}");
    let (p, f, m) = policy_error("", &dup);
    assert_eq!((p.as_str(), f.as_str()), ("p1", "id"));
    assert!(m.contains("another policy"));
}

#[test]
fn file_level_mistakes_name_the_setting() {
    let err = |text: &str| PolicySet::from_toml(text).unwrap_err();
    assert_eq!(err("[[policy]]\nid = \"x\""), PolicyError::MissingVersion);
    assert_eq!(
        err("version = 2"),
        PolicyError::UnsupportedVersion("2".into())
    );
    assert!(matches!(
        err("version = 1\nversion = 1"),
        PolicyError::Syntax(_)
    ));
    assert!(matches!(err("version = "), PolicyError::Syntax(_)));

    let field = |text: &str| match err(text) {
        PolicyError::File { field, message } => format!("{field}: {message}"),
        other => panic!("expected a file error, got {other:?}"),
    };
    assert!(field("version = 1\npolicies = []").starts_with("policies: unknown key"));
    assert!(field(&format!("version = 1\n[[policy]]\n{GOOD}"))
        .starts_with("calendar: required because policy `p1` counts business time"));
    let cal = |body: &str| field(&format!("version = 1\n[calendar]\n{body}"));
    assert!(cal("time_zone = \"Asia/Shangai\"").starts_with("calendar.time_zone: `Asia/Shangai`"));
    assert!(cal("").starts_with("calendar.time_zone: required"));
    assert!(cal("time_zone = \"UTC\"\nholiday = []").starts_with("calendar.holiday: unknown key"));
    assert!(cal("time_zone = \"UTC\"\nholidays = [\"2025-13-01\"]")
        .starts_with("calendar.holidays[0]: "));
    assert!(
        cal("time_zone = \"UTC\"\n[calendar.hours]\nmon = [\"18:00-09:00\"]")
            .starts_with("calendar.hours.mon[0]: ")
    );
    assert!(
        cal("time_zone = \"UTC\"\n[calendar.hours]\nmon = [\"09:00-13:00\", \"12:00-18:00\"]")
            .starts_with("calendar.hours.mon: intervals 09:00-13:00 and 12:00-18:00 overlap")
    );
    assert!(cal("time_zone = \"UTC\"\n[calendar.hours]\nmonday = []")
        .starts_with("calendar.hours.monday: unknown key"));
    assert!(cal("time_zone = \"UTC\"\n[calendar.hours]\nsat = []")
        .starts_with("calendar.hours: no working hours"));
    assert!(cal(
        "time_zone = \"UTC\"\nholidays = [2025-10-01]\nmakeup_workdays = [\"2025-10-01\"]"
    )
    .starts_with("calendar.makeup_workdays: 2025-10-01 is also listed as a holiday"));
    assert!(
        field("version = 1\n[feedback]\nsql = [\"mood\"]").starts_with("feedback.sql[0]: `mood`")
    );
    assert!(field("version = 1\n[feedback]\nsqll = []").starts_with("feedback.sqll: unknown key"));
}

#[test]
fn errors_read_well() {
    let e = PolicySet::from_toml(&file_with("at_risk_share = 1.5", GOOD)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "policy `p1`: at_risk_share: 1.5 must be in (0, 1]"
    );
}

#[test]
fn allowances_parse_and_print() {
    assert_eq!(parse_allowance("24h"), Ok(Duration::hours(24)));
    assert_eq!(parse_allowance("30d"), Ok(Duration::days(30)));
    assert_eq!(parse_allowance("1d12h30m"), Ok(Duration::minutes(2190)));
    for bad in ["", "h", "24", "24x", "-1h", "1.5h", "h24"] {
        assert!(parse_allowance(bad).is_err(), "{bad}");
    }
    assert_eq!(format_allowance(Duration::minutes(2190)), "36h30m");
    assert_eq!(format_allowance(Duration::days(30)), "720h");
    assert_eq!(format_allowance(Duration::minutes(45)), "45m");
    for p in default_policies() {
        assert_eq!(
            parse_allowance(&format_allowance(p.allowance)),
            Ok(p.allowance)
        );
    }
}

/// docs/examples/policies-china.toml: one Shanghai calendar for 华东, 华北 and 华南 with
/// 2025's holidays and make-up days, follow-up policies scoped by region.
#[test]
fn the_china_example_counts_across_the_national_day_week() {
    let set =
        PolicySet::from_toml(include_str!("../../../docs/examples/policies-china.toml")).unwrap();
    let sh = |m, d, h, min| {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2025, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    let east = set.get("follow-up-east").unwrap();
    // Tuesday 30 September 16:00: two hours that day, 1–8 October off, two more on Thursday
    // the 9th.
    assert_eq!(
        east.due_at(&set.calendar, sh(9, 30, 16, 0)),
        sh(10, 9, 11, 0)
    );
    // Friday 10 October 17:00: one hour, then Saturday the 11th is a make-up day.
    assert_eq!(
        east.due_at(&set.calendar, sh(10, 10, 17, 0)),
        sh(10, 11, 12, 0)
    );
    // 华北: a working day (7 h 30) from Friday 26 September 17:00 ends on the make-up
    // Sunday the 28th at 17:00 (1 h on Friday; on Sunday 3 h, then 3 h 30 after lunch).
    let north = set.get("follow-up-north").unwrap();
    assert_eq!(
        north.due_at(&set.calendar, sh(9, 26, 17, 0)),
        sh(9, 28, 17, 0)
    );
    // Partner acceptance counts elapsed time through the holiday.
    let partner = set.get("partner-accept").unwrap();
    assert_eq!(
        partner.due_at(&set.calendar, sh(9, 30, 16, 0)),
        sh(10, 2, 16, 0)
    );
    // Each region's lead gets its own follow-up clock only.
    let lead = |region: &str| {
        let mut st = leadledger_domain::LeadState::default();
        st.company.region = region.into();
        st
    };
    for (region, policy) in [
        ("华东", "follow-up-east"),
        ("华北", "follow-up-north"),
        ("华南", "follow-up-south"),
    ] {
        let scoped: Vec<&str> = set
            .policies
            .iter()
            .filter(|p| p.id.starts_with("follow-up") && p.scope.matches(&lead(region)))
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(scoped, [policy]);
    }
}

#[test]
fn a_business_allowance_beyond_five_years_of_the_calendar_is_refused() {
    let file = r#"
version = 1
[calendar]
time_zone = "UTC"
[calendar.hours]
mon = ["09:00-09:01"]
[[policy]]
id = "forever"
start = ["mql_qualified"]
target = ["follow_up_logged"]
allowance = "87600h"
business_time = true
"#;
    let err = PolicySet::from_toml(file).unwrap_err().to_string();
    assert!(err.contains("policy `forever`: allowance"), "{err}");
    assert!(err.contains("more than 5 years"), "{err}");
    // A long business allowance on a full week is fine.
    let ok = file
        .replace("mon = [\"09:00-09:01\"]", "mon = [\"09:00-18:00\"]")
        .replace("87600h", "2000h");
    PolicySet::from_toml(&ok).unwrap();
}

#[test]
fn the_elapsed_follow_up_candidate_is_the_defaults_but_the_follow_up() {
    let set = PolicySet::from_toml(include_str!(
        "../../../docs/examples/policies-follow-up-elapsed.toml"
    ))
    .unwrap();
    let mut want = default_policies();
    want[0].version = 2;
    want[0].business_time = false;
    want[0].name = "First sales follow-up after MQL or hand-off, 24 elapsed hours".into();
    assert_eq!(set.policies, want);
    assert_eq!(set.calendar, PolicySet::defaults().calendar);
}
