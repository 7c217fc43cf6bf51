-- An account's leads per current stage (NULL: no stage yet). $1 tenant, $2 account key.
SELECT stage, count(*)::int8 AS leads
FROM leads
WHERE tenant_id = $1 AND account_key = $2
GROUP BY stage
