-- Live leads and signed leads of accounts $2 of tenant $1.
SELECT account_key, count(*)::int8 AS leads,
       (count(*) FILTER (WHERE stage = 'signed'))::int8 AS signed
FROM leads WHERE tenant_id = $1 AND account_key = ANY($2)
GROUP BY account_key
