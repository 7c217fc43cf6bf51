SELECT event_type, log_partition, log_offset, raw FROM lead_events
WHERE tenant_id = $1 AND lead_id = $2 ORDER BY occurred_at, event_id
