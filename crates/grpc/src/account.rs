//! `QueryService.GetAccount`: one account, its leads, its buying committee and who owns its
//! open leads (docs/IDENTITY.md, "Accounts and buying committees"). A query over the
//! `leads` rows the projector keeps (`account_key`, `contact_role`, `primary_contact`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use leadledger_api::convert::{stored_stage_to_proto, time_to_proto};
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::account::ownership::Holder;
use leadledger_domain::account::{AccountKey, ContactRole, PrimaryClaim};
use leadledger_domain::validate::lead_ref;
use leadledger_domain::Violations;
use leadledger_store::accounts::{self, Found, Member, Which};
use tonic::Request;

use crate::context::{page_size_or_violation, take_page, ReadContext};
use crate::list::lead_to_proto;

/// The longest account id (`Company.account_id`'s limit).
const MAX_ACCOUNT_ID: usize = 128;

/// The account a request names, or its violation.
fn account_of(v: &mut Violations, text: &str) -> Option<AccountKey> {
    let key = AccountKey::parse(text);
    match &key {
        None => v.add(
            "account",
            "must be account:<id>, domain:<domain> or lead:<id> (a free-mail domain is no \
             account)",
        ),
        Some(AccountKey::Explicit(id)) if id.chars().count() > MAX_ACCOUNT_ID => v.add(
            "account",
            format!("an account id has at most {MAX_ACCOUNT_ID} characters"),
        ),
        Some(AccountKey::Lead(id)) => lead_ref(v, "account", id),
        Some(_) => {}
    }
    key
}

/// Serves one `GetAccount` call.
pub(crate) async fn get(
    query: &ReadContext,
    request: &Request<pb::GetAccountRequest>,
) -> Result<pb::GetAccountResponse, ApiError> {
    let r = request.get_ref();
    let mut v = Violations::default();
    let key = match (r.account.as_str(), r.lead_id.as_str()) {
        ("", "") => {
            v.add("account", "required: name an account, or a lead in lead_id");
            None
        }
        (a, "") => account_of(&mut v, a),
        ("", lead) => {
            lead_ref(&mut v, "lead_id", lead);
            None
        }
        _ => {
            v.add("lead_id", "set either account or lead_id, not both");
            None
        }
    };
    let after = match r.page_token.as_str() {
        "" => String::new(),
        t => decode_token(t).unwrap_or_else(|| {
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
    let key = key.map(|k| k.text());
    let which = key.as_deref().map_or(Which::OfLead(&r.lead_id), Which::Key);
    let (key, account) =
        match accounts::get(&query.store().pool, &tenant, which, &after, size + 1).await? {
            Found::Account { key, account } => (key, account),
            Found::NoLead => {
                return Err(ApiError::NotFound(format!(
                    "no lead {} for tenant {tenant}",
                    r.lead_id
                )))
            }
            // Only for a key asked for: a lead's own account holds the lead.
            Found::NoAccount => {
                return Err(ApiError::NotFound(format!(
                    "no account {} for tenant {tenant}",
                    key.unwrap_or_default()
                )))
            }
        };
    let (leads, more) = take_page(account.leads, size);
    let next_page_token = match (more, leads.last()) {
        (true, Some(last)) => URL_SAFE_NO_PAD.encode(&last.lead_id),
        _ => String::new(),
    };
    let mut stages: Vec<pb::AccountStageCount> = account
        .stages
        .iter()
        .filter_map(|(stage, n)| {
            stage.as_deref().map(|s| pb::AccountStageCount {
                stage: stored_stage_to_proto(Some(s)),
                leads: count(*n),
            })
        })
        .collect();
    stages.sort_by_key(|s| s.stage);
    let primary = primary(&account.members);
    Ok(pb::GetAccountResponse {
        account: key,
        name: if account.name.is_empty() {
            account.holding.name.clone()
        } else {
            account.name
        },
        lead_count: count(account.stages.iter().map(|(_, n)| n).sum()),
        stages,
        committee: committee(&account.members, primary.as_deref()),
        primary_lead_id: primary.unwrap_or_default(),
        owners: account
            .owners
            .into_iter()
            .map(|(rep_id, n)| pb::AccountOwner {
                rep_id,
                open_leads: count(n),
            })
            .collect(),
        leads: leads.iter().map(lead_to_proto).collect(),
        next_page_token,
        tier: account.holding.tier.clone(),
        owner: account.holding.holder.as_ref().map(holder_to_proto),
    })
}

/// Who owns an account, for the wire (`GetAccount`, ownership rulings and conflicts).
pub(crate) fn holder_to_proto(h: &Holder) -> pb::AccountHolder {
    pb::AccountHolder {
        rep_id: h.rep_id.clone(),
        team: h.team.clone(),
        since: Some(time_to_proto(h.since)),
        held_by: h.by.as_str().to_string(),
    }
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The members holding a role (not `not_involved`), by role then lead id; `primary` marks the
/// account's primary contact.
fn committee(members: &[Member], primary: Option<&str>) -> Vec<pb::CommitteeMember> {
    let mut out: Vec<(ContactRole, &Member)> = members
        .iter()
        .filter_map(|m| ContactRole::parse(&m.contact_role).map(|r| (r, m)))
        .filter(|(r, _)| *r != ContactRole::NotInvolved)
        .collect();
    out.sort_by(|(ra, a), (rb, b)| (ra, &a.lead_id).cmp(&(rb, &b.lead_id)));
    out.into_iter()
        .map(|(role, m)| pb::CommitteeMember {
            lead_id: m.lead_id.clone(),
            role: role.number(),
            assigned_at: m.contact_role_at.map(time_to_proto),
            primary: primary == Some(m.lead_id.as_str()),
            name: m.contact_name.clone(),
            title: m.contact_title.clone(),
        })
        .collect()
}

/// The account's primary contact ([`leadledger_domain::account::primary_contact`]).
fn primary(members: &[Member]) -> Option<String> {
    leadledger_domain::account::primary_contact(members.iter().map(|m| PrimaryClaim {
        lead_id: &m.lead_id,
        has_role: ContactRole::parse(&m.contact_role).is_some(),
        primary_contact: m.primary_contact,
        primary_since: m.primary_since,
    }))
    .map(str::to_string)
}

fn decode_token(t: &str) -> Option<String> {
    let lead = decode_key(t)?;
    let mut v = Violations::default();
    lead_ref(&mut v, "page_token", &lead);
    v.is_empty().then_some(lead)
}

/// The key a keyset page token carries (URL-safe base64 of it, as this module writes them).
pub(crate) fn decode_key(t: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(t).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn t(minute: u32) -> Option<chrono::DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(2026, 5, 1, 9, minute, 0).unwrap())
    }

    /// A member assigned `role` at `minute`, its latest assignment saying `primary`, last made
    /// primary at `since`.
    fn member(lead: &str, role: &str, minute: u32, primary: bool, since: Option<u32>) -> Member {
        Member {
            lead_id: lead.into(),
            contact_role: role.into(),
            contact_role_at: t(minute),
            primary_contact: primary,
            primary_since: since.and_then(t),
            contact_name: String::new(),
            contact_title: String::new(),
        }
    }

    #[test]
    fn the_committee_is_by_role_then_lead_and_leaves_out_who_left_it() {
        let m = [
            member("b", "user", 1, false, None),
            member("a", "user", 2, false, None),
            member("c", "decision_maker", 3, true, Some(3)),
            member("d", "not_involved", 4, false, None),
            member("e", "some_future_role", 5, false, None),
        ];
        let got: Vec<(String, i32, bool)> = committee(&m, Some("c"))
            .into_iter()
            .map(|c| (c.lead_id, c.role, c.primary))
            .collect();
        assert_eq!(
            got,
            [
                ("c".to_string(), 1, true),
                ("a".to_string(), 4, false),
                ("b".to_string(), 4, false)
            ]
        );
    }

    #[test]
    fn the_primary_is_read_from_the_members() {
        let m = [
            member("a", "champion", 1, true, Some(1)),
            member("b", "user", 3, true, Some(3)),
            member("c", "user", 5, false, None),
        ];
        assert_eq!(primary(&m).as_deref(), Some("b"));
        assert_eq!(primary(&m[2..]), None);
    }

    #[test]
    fn accounts_are_named_as_leads_name_them() {
        let mut v = Violations::default();
        assert_eq!(
            account_of(&mut v, "domain:WWW.acme.com"),
            Some(AccountKey::Domain("acme.com".into()))
        );
        assert!(v.is_empty());
        for bad in [
            "acme.com",
            "domain:gmail.com",
            "lead:~visitor/x",
            "account:",
        ] {
            let mut v = Violations::default();
            account_of(&mut v, bad);
            assert_eq!(v.0.len(), 1, "{bad}");
            assert_eq!(v.0[0].field, "account");
        }
        assert_eq!(
            decode_token(&URL_SAFE_NO_PAD.encode("lead-9")).as_deref(),
            Some("lead-9")
        );
        assert_eq!(decode_token("%%"), None);
    }
}
