-- The next $3 leads after ($1, $2) in key order, locked: a projector writing one of them
-- waits for this step (and this step for it), so neither writes clocks from a timeline older
-- than the other's. Both lock `leads` rows in key order.
SELECT tenant_id, lead_id FROM leads
WHERE (tenant_id, lead_id) > ($1, $2)
ORDER BY tenant_id, lead_id
LIMIT $3
FOR UPDATE
