-- The holdings of accounts $2 of tenant $1.
SELECT tenant_id, account_key, tier, name, holder_rep_id, holder_team, holder_since, holder_by
FROM account_holdings WHERE tenant_id = $1 AND account_key = ANY($2)
