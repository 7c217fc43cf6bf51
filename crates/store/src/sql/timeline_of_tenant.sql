-- Every stored event of the tenant's leads captured in [$2, $3) (every lead, captured or
-- not, when neither bound is given), with the lead whose timeline holds it (a merged lead's
-- survivor).
SELECT e.event_type, e.raw, l.lead_id FROM lead_events e
LEFT JOIN lead_merges m
  ON m.tenant_id = e.tenant_id AND m.lead_id = e.lead_id AND m.unmerge_intent IS NULL
JOIN leads l ON l.tenant_id = e.tenant_id AND l.lead_id = COALESCE(m.survivor_id, e.lead_id)
WHERE l.tenant_id = $1
  AND ($2::timestamptz IS NULL OR l.captured_at >= $2)
  AND ($3::timestamptz IS NULL OR l.captured_at < $3)
