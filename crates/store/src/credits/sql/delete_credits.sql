DELETE FROM attribution_credits t USING UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id)
WHERE t.tenant_id = d.tenant_id AND t.lead_id = d.lead_id
