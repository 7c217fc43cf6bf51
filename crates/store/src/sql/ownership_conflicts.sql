-- A page of tenant $1's conflicts: accounts after $2 (exclusive), at most $3.
SELECT c.account_key, c.company_domain, c.reps, c.open_leads, c.rep_open_leads, c.rep_since,
       c.tier, c.holder_rep_id, h.holder_team, c.holder_since, c.holder_by
FROM account_ownership_conflicts c
LEFT JOIN account_holdings h ON h.tenant_id = c.tenant_id AND h.account_key = c.account_key
WHERE c.tenant_id = $1 AND c.account_key > $2 ORDER BY c.account_key LIMIT $3
