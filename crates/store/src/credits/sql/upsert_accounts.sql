INSERT INTO attribution_accounts (tenant_id, lead_id, account_key, touches)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[])
ON CONFLICT (tenant_id, lead_id) DO UPDATE SET account_key = EXCLUDED.account_key,
  touches = EXCLUDED.touches
