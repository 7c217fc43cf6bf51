//! How a rule matches a configured name (a team, a region, a segment, ...): trimmed and
//! case-insensitive; an empty list matches any value.

/// Empty list: any value. Otherwise the value must be listed, compared trimmed and
/// ASCII-case-insensitively (`"Webinar"` = `"webinar"`; `华东` compares exactly).
pub(crate) fn any_or_listed(list: &[String], value: &str) -> bool {
    list.is_empty() || list.iter().any(|v| same_name(v, value))
}

pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}
