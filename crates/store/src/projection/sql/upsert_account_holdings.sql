-- The holdings a batch changed (in key order), as they stand after it.
INSERT INTO account_holdings AS h (tenant_id, account_key, tier, name, holder_rep_id,
  holder_team, holder_since, holder_by)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
  $7::timestamptz[], $8::text[])
ON CONFLICT (tenant_id, account_key) DO UPDATE SET
  tier = EXCLUDED.tier, name = EXCLUDED.name, holder_rep_id = EXCLUDED.holder_rep_id,
  holder_team = EXCLUDED.holder_team, holder_since = EXCLUDED.holder_since,
  holder_by = EXCLUDED.holder_by
