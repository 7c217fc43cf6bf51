-- Tenant $1's spend statements (filed under `~spend/…`, no lead's) that the cut admits:
-- happened by $2 and recorded by $3 (a NULL bound is open), as the log's bytes.
SELECT event_type, raw FROM lead_events
WHERE tenant_id = $1 AND lead_id LIKE '~spend/%' AND event_type = 'spend_recorded'
  AND ($2::timestamptz IS NULL OR occurred_at <= $2)
  AND ($3::timestamptz IS NULL OR recorded_at <= $3)
