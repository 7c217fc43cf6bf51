-- The captures of a set of leads whose contact is in clear (schema version 1, appended
-- before contacts were sealed).
SELECT e.event_id, e.tenant_id, e.event_type, e.raw FROM lead_events e
JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id)
  ON e.tenant_id = d.tenant_id AND e.lead_id = d.lead_id
WHERE e.event_type = 'lead_captured' AND e.schema_version < 2
