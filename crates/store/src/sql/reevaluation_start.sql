-- A new pass with fingerprint $1 over every lead there is now.
UPDATE sla_reevaluation
SET pass_fingerprint = $1, after_tenant = '', after_lead = '', leads_done = 0,
  leads_total = (SELECT count(*) FROM leads), started_at = now(), finished_at = NULL
WHERE id = 1
