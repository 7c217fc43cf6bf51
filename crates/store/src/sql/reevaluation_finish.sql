-- The pass of fingerprint $1 reached the last lead: every clock is evaluated with it.
UPDATE sla_reevaluation
SET done_fingerprint = $1, finished_at = now()
WHERE id = 1 AND pass_fingerprint = $1
