//! `QueryService.Funnel`: leads (the pre-aggregated cells, or the leads at a cut) or
//! accounts (every lead of the tenant read and counted by
//! `leadledger_analytics::accounts::funnel`) reaching each main-line stage.

use chrono::{DateTime, Utc};
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::account::Scope;
use leadledger_domain::{Cut, Stage, Violations};
use leadledger_store::leads::{self, Dimension, FunnelRow};
use tonic::{Request, Response, Status};

use crate::context::ReadContext;
use crate::measures;

/// What a funnel request asks, decoded.
struct Ask {
    dims: Vec<Dimension>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    cut: Cut,
    /// `None`: leads; else accounts, with the contacts the scope selects.
    accounts: Option<Scope>,
}

fn parse(r: &pb::FunnelRequest) -> Result<Ask, ApiError> {
    let mut v = Violations::default();
    let dims = measures::dimensions(&mut v, &r.group_by, measures::funnel_dimension);
    let cut = measures::cut(&mut v, r.as_of.as_ref(), r.known_at.as_ref());
    let from = measures::time(&mut v, "captured_from", r.captured_from.as_ref());
    let to = measures::time(&mut v, "captured_to", r.captured_to.as_ref());
    let scope = measures::account_scope(&mut v, r.account_scope);
    let accounts = match pb::FunnelLevel::try_from(r.level) {
        Ok(pb::FunnelLevel::Unspecified | pb::FunnelLevel::Lead) => {
            if r.account_scope != 0 {
                v.add("account_scope", "only with level FUNNEL_LEVEL_ACCOUNT");
            }
            None
        }
        Ok(pb::FunnelLevel::Account) => scope,
        Err(_) => {
            v.add("level", format!("unknown value {}", r.level));
            None
        }
    };
    if !v.is_empty() {
        return Err(ApiError::invalid(v));
    }
    Ok(Ask {
        dims,
        from,
        to,
        cut,
        accounts,
    })
}

pub async fn serve(
    ctx: &ReadContext,
    request: Request<pb::FunnelRequest>,
) -> Result<Response<pb::FunnelResponse>, Status> {
    let r = request.get_ref();
    let (tenant, ask) = measures::admit(ctx, &request, &r.tenant_id, &r.consistency_token, || {
        parse(r)
    })
    .await?;
    let pool = &ctx.store().pool;
    let Ask {
        dims,
        from,
        to,
        cut,
        accounts,
    } = ask;
    let (rows, level, left_out) = match accounts {
        None => {
            let rows = if cut.is_live() {
                leads::funnel(pool, &tenant, &dims, from, to).await
            } else {
                leadledger_store::cut::funnel(pool, &tenant, &dims, from, to, &cut).await
            }
            .map_err(ApiError::from)?;
            (rows, pb::FunnelLevel::Lead, 0)
        }
        Some(scope) => {
            let f = if cut.is_live() {
                leadledger_store::account_funnel::funnel(pool, &tenant, &dims, scope, from, to)
                    .await
            } else {
                leadledger_store::cut::account_funnel(pool, &tenant, &dims, scope, from, to, &cut)
                    .await
            }
            .map_err(ApiError::from)?;
            let rows = f
                .groups
                .into_iter()
                .map(|g| FunnelRow::of_totals(g.key, g.reached, g.signed))
                .collect();
            (rows, pb::FunnelLevel::Account, f.left_out)
        }
    };
    Ok(Response::new(pb::FunnelResponse {
        group_by: r.group_by.clone(),
        groups: rows.into_iter().map(group_to_proto).collect(),
        level: level.into(),
        account_scope: accounts.map_or(0, measures::account_scope_to_proto),
        accounts_left_out: left_out,
    }))
}

fn group_to_proto(row: FunnelRow) -> pb::FunnelGroup {
    pb::FunnelGroup {
        key: row.key,
        stages: Stage::MAIN_LINE
            .iter()
            .enumerate()
            .map(|(i, s)| pb::StageCount {
                stage: s.number(),
                leads: row.reached[i],
                conversion_from_previous: if i == 0 || row.reached[i - 1] == 0 {
                    0.0
                } else {
                    row.reached[i] as f64 / row.reached[i - 1] as f64
                },
            })
            .collect(),
        signed_amount_minor: row
            .signed
            .iter()
            .map(|t| (t.currency.clone(), t.amount))
            .collect(),
        collected_amount_minor: row
            .signed
            .into_iter()
            .map(|t| (t.currency, t.collected))
            .collect(),
    }
}
