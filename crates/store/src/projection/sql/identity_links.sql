-- The stored links of visitors ($1 tenants, $2 visitor keys): (tenant, visitor key, lead).
SELECT v.tenant_id, v.visitor_key, v.lead_id
FROM UNNEST($1::text[], $2::text[]) AS g(tenant_id, visitor_key)
JOIN visitor_links v ON v.tenant_id = g.tenant_id AND v.visitor_key = g.visitor_key
