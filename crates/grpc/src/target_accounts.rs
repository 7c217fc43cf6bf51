//! `QueryService.ListTargetAccounts`: the target-account list and the customers — tier,
//! owner, coverage by role and the roles nobody covers, leads and signed leads, renewals
//! with their warning state at an instant (docs/IDENTITY.md, "Target accounts, coverage and
//! renewals"). Renewal states are computed here from the stored dates and the instant asked
//! about (`leadledger_domain::account::coverage::renewal_state`), like SLA clock states.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Days, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::account::coverage::{self, CoverageRole, RenewalState};
use leadledger_domain::account::ownership::MAX_TIER;
use leadledger_domain::Violations;
use leadledger_store::target_accounts::{self, Filter, TargetAccount};
use tonic::Request;

use crate::account::{decode_key, holder_to_proto};
use crate::context::{page_size_or_violation, take_page, ReadContext};
use crate::sla_fields::time_or;

/// Longest warning, in days.
const MAX_WARN_DAYS: u32 = 730;
/// Default warning, in days.
const WARN_DAYS: u32 = 90;

/// Serves one `ListTargetAccounts` call.
pub(crate) async fn list(
    query: &ReadContext,
    request: &Request<pb::ListTargetAccountsRequest>,
) -> Result<pb::ListTargetAccountsResponse, ApiError> {
    let r = request.get_ref();
    let mut v = Violations::default();
    if r.tier.chars().count() > MAX_TIER || r.tier.trim() != r.tier {
        v.add(
            "tier",
            format!("at most {MAX_TIER} characters, no white space around it"),
        );
    }
    let mut required: Vec<CoverageRole> = Vec::new();
    for (i, n) in r.required_roles.iter().enumerate() {
        match CoverageRole::from_number(*n) {
            Some(role) if !required.contains(&role) => required.push(role),
            Some(_) => {}
            None => v.add(
                format!("required_roles[{i}]"),
                format!("must be one of the CoverageRole values (got {n})"),
            ),
        }
    }
    if required.is_empty() {
        required = CoverageRole::ALL.to_vec();
    }
    required.sort();
    let warn_days = r.warn_days.unwrap_or(WARN_DAYS);
    if warn_days > MAX_WARN_DAYS {
        v.add("warn_days", format!("at most {MAX_WARN_DAYS}"));
    }
    let as_of = match time_or("as_of", r.as_of.as_ref(), None) {
        Ok(t) => t.unwrap_or_else(Utc::now),
        Err(_) => {
            v.add("as_of", "not a valid timestamp");
            Utc::now()
        }
    };
    let after = match r.page_token.as_str() {
        "" => String::new(),
        t => decode_key(t).unwrap_or_else(|| {
            v.add("page_token", "not a page token issued by this service");
            String::new()
        }),
    };
    let size = page_size_or_violation(&mut v, r.page_size);
    if !v.is_empty() {
        return Err(ApiError::invalid(v));
    }
    let tenant = query
        .admit(request, &r.tenant_id, &r.consistency_token)
        .await?;
    let roles: Vec<&str> = required.iter().map(|r| r.as_str()).collect();
    let filter = Filter {
        tier: &r.tier,
        uncovered_in: r.uncovered_only.then_some(roles.as_slice()),
        // WARNING or DUE at `as_of`: the date is at most `warn_days` after its day.
        renewal_by: r.renewals_only.then(|| {
            as_of
                .date_naive()
                .checked_add_days(Days::new(u64::from(warn_days)))
                .unwrap_or(chrono::NaiveDate::MAX)
                .min(chrono::NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date"))
        }),
    };
    let rows =
        target_accounts::page(&query.store().pool, &tenant, &filter, &after, size + 1).await?;
    let (rows, more) = take_page(rows, size);
    let next_page_token = match (more, rows.last()) {
        (true, Some(last)) => URL_SAFE_NO_PAD.encode(&last.key),
        _ => String::new(),
    };
    Ok(pb::ListTargetAccountsResponse {
        accounts: rows
            .into_iter()
            .map(|a| account_to_proto(a, &required, warn_days, as_of))
            .collect(),
        next_page_token,
        as_of: Some(time_to_proto(as_of)),
        warn_days,
    })
}

fn account_to_proto(
    a: TargetAccount,
    required: &[CoverageRole],
    warn_days: u32,
    as_of: chrono::DateTime<Utc>,
) -> pb::TargetAccount {
    let covered: Vec<(CoverageRole, String, chrono::DateTime<Utc>)> = a
        .coverage
        .into_iter()
        .filter_map(|(role, rep, since)| CoverageRole::parse(&role).map(|r| (r, rep, since)))
        .collect();
    let missing_roles = required
        .iter()
        .filter(|r| !covered.iter().any(|(c, _, _)| c == *r))
        .map(|r| r.number())
        .collect();
    let mut coverage: Vec<pb::CoverageSlot> = covered
        .into_iter()
        .map(|(role, rep_id, since)| pb::CoverageSlot {
            role: role.number(),
            rep_id,
            since: Some(time_to_proto(since)),
        })
        .collect();
    coverage.sort_by(|x, y| (x.role, &x.rep_id).cmp(&(y.role, &y.rep_id)));
    pb::TargetAccount {
        account: a.key,
        name: a.holding.name,
        tier: a.holding.tier,
        owner: a.holding.holder.as_ref().map(holder_to_proto),
        coverage,
        missing_roles,
        leads: a.leads,
        signed_leads: a.signed,
        customer: a.signed > 0,
        renewals: a
            .renewals
            .into_iter()
            .map(|(contract_id, on, amount_minor, currency)| pb::Renewal {
                contract_id,
                renews_on: on.format("%Y-%m-%d").to_string(),
                amount_minor,
                currency,
                state: match coverage::renewal_state(on, warn_days, as_of) {
                    RenewalState::Upcoming => pb::RenewalState::Upcoming,
                    RenewalState::Warning => pb::RenewalState::Warning,
                    RenewalState::Due => pb::RenewalState::Due,
                } as i32,
                warn_from: Some(time_to_proto(coverage::warn_from(on, warn_days))),
            })
            .collect(),
    }
}
