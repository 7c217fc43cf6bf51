-- Every stored event of the tenant's leads captured in [$2, $3) (every lead, captured or
-- not, when neither bound is given), with the lead whose timeline holds it (a merged lead's
-- survivor; a linked visitor's lead's). A visitor linked to no lead has no `leads` row: its
-- events are no lead's.
SELECT e.event_type, e.raw, l.lead_id FROM lead_events e
LEFT JOIN visitor_links v ON v.tenant_id = e.tenant_id AND v.visitor_key = e.lead_id
LEFT JOIN lead_merges m
  ON m.tenant_id = e.tenant_id AND m.lead_id = COALESCE(v.lead_id, e.lead_id)
  AND m.unmerge_intent IS NULL
JOIN leads l ON l.tenant_id = e.tenant_id
  AND l.lead_id = COALESCE(m.survivor_id, v.lead_id, e.lead_id)
WHERE l.tenant_id = $1
  AND ($2::timestamptz IS NULL OR l.captured_at >= $2)
  AND ($3::timestamptz IS NULL OR l.captured_at < $3)
