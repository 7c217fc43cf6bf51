-- Views for the measures computed on request (issue 17): `stage_stays` (Velocity) and
-- `lead_cohorts` (Cohorts), both documented in docs/READ_MODELS.md and docs/ANALYTICS.md.

-- BI view: every stay in a stage with its time in stage and the lead's dimensions, the rows
-- `Velocity` computes its figures from (docs/ANALYTICS.md). A BI tool takes percentiles of
-- `seconds_in_stage` over completed stays (`exited_at IS NOT NULL`); an open stay has no
-- time in stage yet. Runs with its caller's rights, like every documented view (0010), so a
-- BI role sees only its tenants; a BI role granted before this migration reads it after
-- `leadledger bi grant` is run for it again.
CREATE VIEW stage_stays AS
SELECT s.tenant_id, s.lead_id, s.seq, s.stage, s.entered_at, s.exited_at,
       extract(epoch FROM s.exited_at - s.entered_at)::float8 AS seconds_in_stage,
       l.channel, l.campaign, l.region, l.industry, l.segment,
       to_char(l.captured_at AT TIME ZONE 'UTC', 'YYYY-MM') AS capture_month,
       to_char(l.captured_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS capture_week,
       l.captured_at, l.owner_rep_id, l.owner_team
FROM stage_visits s
JOIN leads l ON l.tenant_id = s.tenant_id AND l.lead_id = s.lead_id;
ALTER VIEW stage_stays SET (security_invoker = true);

-- BI view: one row per captured lead with its capture cohort (month, ISO week) and the
-- seconds from capture to its first entry into each stage or a later main-line one (NULL
-- if it never got there; an entry recorded before the capture counts as 0: `x < 0` is NULL
-- for a NULL x, so the CASE keeps it NULL): what `Cohorts`
-- computes its curves from (docs/ANALYTICS.md). `leads.mql_at` … `signed_at` are the first
-- entries into each stage, so the first entry into a stage or a later one is their LEAST.
CREATE VIEW lead_cohorts AS
SELECT l.tenant_id, l.lead_id, l.channel, l.campaign, l.region, l.industry, l.segment,
       l.owner_rep_id, l.owner_team, l.captured_at,
       to_char(l.captured_at AT TIME ZONE 'UTC', 'YYYY-MM') AS capture_month,
       to_char(l.captured_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS capture_week,
       CASE WHEN d.mql < 0 THEN 0 ELSE d.mql END AS seconds_to_mql,
       CASE WHEN d.sql < 0 THEN 0 ELSE d.sql END AS seconds_to_sql,
       CASE WHEN d.poc < 0 THEN 0 ELSE d.poc END AS seconds_to_poc,
       CASE WHEN d.signed < 0 THEN 0 ELSE d.signed END AS seconds_to_signed
FROM leads l,
LATERAL (SELECT
    extract(epoch FROM least(l.mql_at, l.sql_at, l.poc_at, l.signed_at) - l.captured_at)::float8 AS mql,
    extract(epoch FROM least(l.sql_at, l.poc_at, l.signed_at) - l.captured_at)::float8 AS sql,
    extract(epoch FROM least(l.poc_at, l.signed_at) - l.captured_at)::float8 AS poc,
    extract(epoch FROM l.signed_at - l.captured_at)::float8 AS signed) d
WHERE l.captured_at IS NOT NULL;
ALTER VIEW lead_cohorts SET (security_invoker = true);
