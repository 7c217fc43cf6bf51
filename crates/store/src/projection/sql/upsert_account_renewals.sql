-- The renewals a batch scheduled (in key order): the latest per contract replaces the stored.
INSERT INTO account_renewals AS r (tenant_id, account_key, contract_id, renews_on,
  amount_minor, currency, scheduled_at)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::date[], $5::int8[], $6::text[],
  $7::timestamptz[])
ON CONFLICT (tenant_id, account_key, contract_id) DO UPDATE SET
  renews_on = EXCLUDED.renews_on, amount_minor = EXCLUDED.amount_minor,
  currency = EXCLUDED.currency, scheduled_at = EXCLUDED.scheduled_at
