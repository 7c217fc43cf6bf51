INSERT INTO attribution_dirty (tenant_id, lead_id)
SELECT tenant_id, lead_id FROM leads ORDER BY tenant_id, lead_id
