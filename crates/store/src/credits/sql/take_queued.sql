SELECT id, tenant_id, lead_id FROM attribution_dirty ORDER BY id LIMIT $1
