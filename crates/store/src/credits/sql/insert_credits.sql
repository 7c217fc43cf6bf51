-- Arrays of arrays must be rectangular in PostgreSQL: the credits travel as array literals
-- and are cast back.
INSERT INTO attribution_credits (tenant_id, lead_id, conversion, level, touch_index,
  touch_event_id, touch_lead_id, touch_at, channel, campaign, keyword, credits)
SELECT t, l, c, v, i, e, tl, a, ch, ca, kw, cr::int8[]
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int2[], $6::uuid[],
  $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::text[])
  AS r(t, l, c, v, i, e, tl, a, ch, ca, kw, cr)
