-- A new subscription ($1 id, $2 tenant, $3 name, $4 url, $5 secret, $6 kinds, $7 team,
-- $8 rep, $9 segment, $10 region) starting after the positions $11 (partitions) / $12 (last
-- offsets considered): a subscription made "from now" starts at the applied checkpoints.
WITH s AS (
  INSERT INTO webhook_subscriptions (subscription_id, tenant_id, name, url, secret, kinds,
    team, rep_id, segment, region)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
  RETURNING subscription_id
)
INSERT INTO webhook_cursors (subscription_id, log_partition, last_offset)
SELECT s.subscription_id, p, o FROM s, UNNEST($11::int4[], $12::int8[]) AS u(p, o)
