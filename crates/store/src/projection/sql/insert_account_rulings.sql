-- Account rulings, in log order.
INSERT INTO account_rulings (tenant_id, intent_id, account_key, lead_id, log_partition,
  log_offset, mode, rep_id, team, requested_by, requested_at, tier, rule, allowed,
  holder_rep_id, holder_team, holder_since, holder_by, reason)
SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::int4[], $6::int8[],
  $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::text[],
  $13::text[], $14::bool[], $15::text[], $16::text[], $17::timestamptz[], $18::text[],
  $19::text[])
ON CONFLICT (tenant_id, intent_id) DO NOTHING
