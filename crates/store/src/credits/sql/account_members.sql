SELECT a.tenant_id, a.lead_id FROM attribution_accounts a
JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, account_key)
  ON a.tenant_id = d.tenant_id AND a.account_key = d.account_key
