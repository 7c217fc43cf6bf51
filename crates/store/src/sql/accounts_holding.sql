-- Account $2's holding: its tier on the target-account list and who owns it.
SELECT tenant_id, account_key, tier, name, holder_rep_id, holder_team, holder_since, holder_by
FROM account_holdings WHERE tenant_id = $1 AND account_key = $2
