-- Disables subscription $1 now (delivery stops at the next tick); false if there is none
-- enabled.
UPDATE webhook_subscriptions SET disabled_at = now()
WHERE subscription_id = $1 AND disabled_at IS NULL
RETURNING subscription_id
