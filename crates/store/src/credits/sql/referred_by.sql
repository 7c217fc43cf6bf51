-- The leads whose `ReferredBy` facts name one of the leads `($1[i], $2[i])` as referrer, by
-- the partial index `lead_events_by_referrer` (migration 0029).
SELECT DISTINCT e.tenant_id, e.lead_id
FROM UNNEST($1::text[], $2::text[]) AS r(tenant_id, lead_id)
JOIN lead_events e
  ON e.tenant_id = r.tenant_id
 AND (e.body -> 'payload' -> 'ReferredBy' ->> 'referrer') = r.lead_id
 AND e.event_type = 'referred_by'
