-- Live leads and leads that signed (whatever became of them since) of accounts $2 of
-- tenant $1.
SELECT account_key, count(*)::int8 AS leads,
       (count(*) FILTER (WHERE signed_at IS NOT NULL))::int8 AS signed
FROM leads WHERE tenant_id = $1 AND account_key = ANY($2)
GROUP BY account_key
