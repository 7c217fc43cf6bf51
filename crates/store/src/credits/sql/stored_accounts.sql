SELECT a.tenant_id, a.lead_id, a.account_key, a.touches FROM attribution_accounts a
JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id)
  ON a.tenant_id = d.tenant_id AND a.lead_id = d.lead_id
