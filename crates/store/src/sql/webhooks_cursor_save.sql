-- Subscription $1, partition $2: delivered or given up up to offset $3, $4 failed attempts
-- at the next notice, next attempt not before $5, last error $6.
INSERT INTO webhook_cursors (subscription_id, log_partition, last_offset, attempts,
  next_attempt_at, last_error)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (subscription_id, log_partition) DO UPDATE
SET last_offset = EXCLUDED.last_offset, attempts = EXCLUDED.attempts,
  next_attempt_at = EXCLUDED.next_attempt_at, last_error = EXCLUDED.last_error
