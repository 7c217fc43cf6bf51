-- The granted ownership requests of a set of leads, and of the leads merged into them.
SELECT o.intent_id FROM ownership_decisions o
JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id)
  ON o.tenant_id = d.tenant_id AND o.lead_id = d.lead_id
WHERE o.granted
UNION
SELECT o.intent_id FROM ownership_decisions o
JOIN lead_merges m ON m.tenant_id = o.tenant_id AND m.lead_id = o.lead_id
JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id)
  ON m.tenant_id = d.tenant_id AND m.survivor_id = d.lead_id
WHERE o.granted AND m.unmerge_intent IS NULL
