SELECT c.tenant_id, c.lead_id, c.conversion, c.level, c.converted_at, c.value_minor,
       c.currency, c.captured_at, c.region, c.industry, c.segment, c.touches
FROM attribution_conversions c
JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id)
  ON c.tenant_id = d.tenant_id AND c.lead_id = d.lead_id
