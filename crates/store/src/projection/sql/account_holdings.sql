-- The stored holdings of the accounts `($1[i], $2[i])` (locked: the batch rewrites them).
SELECT h.tenant_id, h.account_key, h.tier, h.name, h.holder_rep_id, h.holder_team,
       h.holder_since, h.holder_by
FROM account_holdings h
JOIN UNNEST($1::text[], $2::text[]) AS a(tenant_id, account_key)
  ON h.tenant_id = a.tenant_id AND h.account_key = a.account_key
ORDER BY h.tenant_id, h.account_key
FOR UPDATE OF h
