-- Every subscription (disabled ones too), oldest first; of tenant $1 unless it is NULL.
SELECT subscription_id, tenant_id, name, url, secret, kinds, team, rep_id, segment, region,
  created_at, disabled_at
FROM webhook_subscriptions
WHERE $1::text IS NULL OR tenant_id = $1
ORDER BY created_at, subscription_id
