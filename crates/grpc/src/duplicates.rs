//! `IdentityService.ListDuplicateCandidates`: pairs of live leads that may be one person
//! (docs/IDENTITY.md "Duplicate candidates"). A query: it merges nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::identity::matching::Rule;
use leadledger_domain::Violations;
use leadledger_store::duplicates::{self, After, Candidate, Filter};
use leadledger_store::identity;
use tonic::Request;

use crate::command;
use crate::context::{page_size_or_violation, take_page, ReadContext};

/// A page token: the last pair's score (its bits, so it compares exactly) and ids.
fn encode_token(c: &Candidate) -> String {
    let json = serde_json::json!([format!("{:x}", c.score.to_bits()), c.lead_a, c.lead_b]);
    URL_SAFE_NO_PAD.encode(json.to_string())
}

fn decode_token(s: &str) -> Option<After> {
    let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
    let (bits, lead_a, lead_b): (String, String, String) = serde_json::from_slice(&bytes).ok()?;
    let score = f64::from_bits(u64::from_str_radix(&bits, 16).ok()?);
    let mut v = Violations::default();
    command::optional_id(&mut v, "a", &lead_a);
    command::optional_id(&mut v, "b", &lead_b);
    (score.is_finite() && v.is_empty()).then_some(After {
        score,
        lead_a,
        lead_b,
    })
}

/// The request's rules, every unknown name a violation.
fn rules(v: &mut Violations, names: &[String]) -> Vec<Rule> {
    let mut out = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        match Rule::parse(n) {
            Some(r) => out.push(r),
            None => v.add(
                format!("rules[{i}]"),
                format!("unknown rule {n:?}: one of email, phone, name_company"),
            ),
        }
    }
    out
}

/// Serves one `ListDuplicateCandidates` call.
pub(crate) async fn list(
    query: &ReadContext,
    request: &Request<pb::ListDuplicateCandidatesRequest>,
) -> Result<pb::ListDuplicateCandidatesResponse, ApiError> {
    let r = request.get_ref();
    let mut v = Violations::default();
    command::optional_id(&mut v, "lead_id", &r.lead_id);
    let rules = rules(&mut v, &r.rules);
    if !(0.0..=1.0).contains(&r.min_score) {
        v.add("min_score", "must be 0..1");
    }
    let after = match r.page_token.as_str() {
        "" => None,
        t => {
            let a = decode_token(t);
            if a.is_none() {
                v.add("page_token", "not a page token issued by this service");
            }
            a
        }
    };
    let size = page_size_or_violation(&mut v, r.page_size);
    if !v.is_empty() {
        return Err(ApiError::invalid(v));
    }
    let tenant = query
        .admit(request, &r.tenant_id, &r.consistency_token)
        .await?;
    // A merged lead's pairs are its survivor's (as `GetLead` answers with the survivor).
    let pool = &query.store().pool;
    let lead = match r.lead_id.as_str() {
        "" => None,
        id => {
            if identity::known(pool, &tenant, &[id]).await?.is_empty() {
                return Err(ApiError::NotFound(format!(
                    "the ledger has no fact of lead {id} (tenant {tenant})"
                )));
            }
            Some(
                identity::survivor_of(pool, &tenant, id)
                    .await?
                    .unwrap_or_else(|| id.to_string()),
            )
        }
    };
    let filter = Filter {
        lead: lead.as_deref(),
        include_separated: r.include_separated,
        rules: &rules,
        min_score: r.min_score,
        after: after.as_ref(),
    };
    let rows = duplicates::candidates(pool, &tenant, &filter, size + 1).await?;
    let (rows, more) = take_page(rows, size);
    let next_page_token = match rows.last() {
        Some(last) if more => encode_token(last),
        _ => String::new(),
    };
    Ok(pb::ListDuplicateCandidatesResponse {
        candidates: rows
            .into_iter()
            .map(|c| pb::DuplicateCandidate {
                rules: c.rules.iter().map(|r| r.as_str().to_string()).collect(),
                lead_id_a: c.lead_a,
                lead_id_b: c.lead_b,
                score: c.score,
            })
            .collect(),
        next_page_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_token_gives_back_its_pair_exactly() {
        let c = Candidate {
            lead_a: "a:1\"x".into(),
            lead_b: "b".into(),
            rules: vec![Rule::Email, Rule::Phone],
            score: 1.0 - 0.05 * 0.2,
        };
        let after = decode_token(&encode_token(&c)).unwrap();
        assert_eq!(after.score.to_bits(), c.score.to_bits());
        assert_eq!((after.lead_a, after.lead_b), (c.lead_a, c.lead_b));
        assert!(decode_token("not-a-token").is_none());
        let nul = Candidate {
            lead_a: "a\0".into(),
            lead_b: "b".into(),
            rules: vec![Rule::Email],
            score: 0.95,
        };
        assert!(decode_token(&encode_token(&nul)).is_none());
        assert!(
            decode_token(&URL_SAFE_NO_PAD.encode("[\"7ff8000000000000\",\"a\",\"b\"]")).is_none()
        );
    }
}
