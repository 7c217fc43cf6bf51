-- A page of tenant $1's target accounts (of tier $2, or every listed account and every
-- account with a renewal when $2 is empty) after $3, at most $7; when $4, only those that
-- nobody covers in one of the roles $5; unless $6 is NULL, only those with a renewal on or
-- before $6 (in its warning or due at the instant asked about).
WITH accounts AS (
    SELECT account_key FROM account_holdings
    WHERE tenant_id = $1 AND tier <> '' AND ($2 = '' OR tier = $2)
    UNION
    SELECT account_key FROM account_renewals WHERE tenant_id = $1 AND $2 = ''
)
SELECT a.account_key FROM accounts a
WHERE a.account_key > $3
  AND (NOT $4 OR NOT ($5::text[] <@ coalesce(
        (SELECT array_agg(c.role) FROM account_coverage c
         WHERE c.tenant_id = $1 AND c.account_key = a.account_key), '{}')))
  AND ($6::date IS NULL OR EXISTS (SELECT 1 FROM account_renewals r
        WHERE r.tenant_id = $1 AND r.account_key = a.account_key AND r.renews_on <= $6))
ORDER BY a.account_key
LIMIT $7
