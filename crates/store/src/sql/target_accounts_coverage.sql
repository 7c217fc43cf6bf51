-- Who covers accounts $2 of tenant $1, by account, role, rep.
SELECT account_key, role, rep_id, since FROM account_coverage
WHERE tenant_id = $1 AND account_key = ANY($2)
ORDER BY account_key, role, rep_id
