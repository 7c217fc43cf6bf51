INSERT INTO attribution_conversions (tenant_id, lead_id, conversion, level, converted_at,
  value_minor, currency, captured_at, region, industry, segment, touches)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
  $6::int8[], $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::text[],
  $12::int2[])
