-- Subscription $1's positions per partition.
SELECT log_partition, last_offset, attempts, next_attempt_at, last_error
FROM webhook_cursors WHERE subscription_id = $1
