-- Every stored event of a set of leads, as the log's bytes (decoded like the log).
SELECT e.event_id, e.event_type, e.log_partition, e.log_offset, e.raw FROM lead_events e
JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id)
  ON e.tenant_id = d.tenant_id AND e.lead_id = d.lead_id
