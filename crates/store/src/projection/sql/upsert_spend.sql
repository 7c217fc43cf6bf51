-- The batch's spend statements (one per key, the batch's latest), each replacing the stored
-- one of its key only when recorded later (ties: the larger event id).
INSERT INTO marketing_spend AS m (tenant_id, channel, campaign, period_start, period_end,
  amount_minor, currency, event_id, recorded_at)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::date[], $5::date[],
  $6::int8[], $7::text[], $8::uuid[], $9::timestamptz[])
ON CONFLICT (tenant_id, channel, campaign, period_start, period_end) DO UPDATE SET
  amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency,
  event_id = EXCLUDED.event_id, recorded_at = EXCLUDED.recorded_at
WHERE (m.recorded_at, m.event_id) < (EXCLUDED.recorded_at, EXCLUDED.event_id)
