-- A page of tenant $1's conflicts: company domains after $2 (exclusive), at most $3.
SELECT company_domain, reps, open_leads FROM account_ownership_conflicts
WHERE tenant_id = $1 AND company_domain > $2 ORDER BY company_domain LIMIT $3
