-- Dead letters, newest first; of subscription $1 unless it is NULL; at most $2.
SELECT subscription_id, event_id, tenant_id, lead_id, log_partition, log_offset, attempts,
  last_error, failed_at, body
FROM webhook_dead_letters
WHERE $1::text IS NULL OR subscription_id = $1
ORDER BY failed_at DESC, event_id
LIMIT $2
