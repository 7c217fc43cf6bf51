INSERT INTO attribution_period_totals (tenant_id, level, conversion, basis, day, currency,
  conversions, unattributed, value_minor)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], $6::text[],
  $7::int8[], $8::int8[], $9::int8[])
ON CONFLICT (tenant_id, level, conversion, basis, day, currency) DO UPDATE SET
  conversions = attribution_period_totals.conversions + EXCLUDED.conversions,
  unattributed = attribution_period_totals.unattributed + EXCLUDED.unattributed,
  value_minor = attribution_period_totals.value_minor + EXCLUDED.value_minor
