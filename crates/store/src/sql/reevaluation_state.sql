-- The re-evaluation's one row.
SELECT done_fingerprint, pass_fingerprint, after_tenant, after_lead, leads_done, leads_total,
  started_at, finished_at
FROM sla_reevaluation WHERE id = 1
