SELECT c.tenant_id, c.lead_id, c.conversion, c.level, c.touch_index, c.touch_event_id,
       c.touch_lead_id, c.touch_at, c.channel, c.campaign, c.keyword, c.credits
FROM attribution_credits c
JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id)
  ON c.tenant_id = d.tenant_id AND c.lead_id = d.lead_id
