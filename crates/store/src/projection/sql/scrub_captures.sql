-- Rewrites timeline rows with their contact taken out ($1 ids, $2 tenants, $3 bodies,
-- $4 record values).
UPDATE lead_events e SET body = s.body, raw = s.raw, schema_version = 2
FROM UNNEST($1::uuid[], $2::text[], $3::jsonb[], $4::bytea[]) AS s(event_id, tenant_id, body, raw)
WHERE e.event_id = s.event_id AND e.tenant_id = s.tenant_id
