-- Every SLA clock of the re-folded leads (a lead may lose its clocks).
DELETE FROM sla_clocks c USING UNNEST($1::text[], $2::text[]) AS d(t, l)
WHERE c.tenant_id = d.t AND c.lead_id = d.l
