-- Every stored event of the tenant's leads captured in [$2, $3) (every lead, captured or
-- not, when neither bound is given).
SELECT e.event_type, e.raw FROM lead_events e
JOIN leads l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
WHERE l.tenant_id = $1
  AND ($2::timestamptz IS NULL OR l.captured_at >= $2)
  AND ($3::timestamptz IS NULL OR l.captured_at < $3)
