-- The granted ownership requests of a set of leads.
SELECT o.intent_id FROM ownership_decisions o
JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id)
  ON o.tenant_id = d.tenant_id AND o.lead_id = d.lead_id
WHERE o.granted
