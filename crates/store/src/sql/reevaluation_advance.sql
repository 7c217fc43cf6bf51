-- The pass of fingerprint $1 evaluated $4 more leads, up to ($2, $3).
UPDATE sla_reevaluation
SET after_tenant = $2, after_lead = $3, leads_done = leads_done + $4
WHERE id = 1 AND pass_fingerprint = $1
