-- A lead's timeline: the events of leads $2 (the lead and those live-merged into it).
SELECT event_type, log_partition, log_offset, raw FROM lead_events
WHERE tenant_id = $1 AND lead_id = ANY($2::text[])
ORDER BY occurred_at, event_id
