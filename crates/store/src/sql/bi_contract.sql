-- The BI contract, version 1 (docs/BI.md): schema `bi`, whose views are what BI tools are
-- promised. Run by `bi::publish` with `search_path` set to the live schema, so each view reads
-- the live read models; run again by `leadledger rebuild` at its swap (the views then read the
-- new schema). Every view names its columns and runs with its caller's rights
-- (security_invoker): a BI role sees the rows of its tenants only (migration 0010).
--
-- The contract's rule is PostgreSQL's own for CREATE OR REPLACE VIEW: within a version a
-- column is only ever added at the end, never renamed, retyped, moved or removed (the
-- statement fails otherwise). A change that needs more is version 2, in a schema of its own.
CREATE SCHEMA IF NOT EXISTS bi;
COMMENT ON SCHEMA bi IS 'leadledger BI contract v1 (docs/BI.md)';

CREATE OR REPLACE VIEW bi.funnel_months WITH (security_invoker = true) AS
SELECT tenant_id, CASE WHEN capture_month = DATE '1970-01-01' THEN NULL ELSE capture_month END
         AS capture_month,
       channel, campaign, region, industry, segment, currency, captured, mql, sql, poc, signed,
       signed_amount_minor, collected_amount_minor
FROM funnel_month_cells;

CREATE OR REPLACE VIEW bi.funnel_counts WITH (security_invoker = true) AS
SELECT tenant_id, capture_date, channel, campaign, region, industry, segment, captured, mql,
       sql, poc, signed
FROM funnel_counts;

CREATE OR REPLACE VIEW bi.lead_velocity WITH (security_invoker = true) AS
SELECT tenant_id, lead_id, channel, campaign, region, industry, segment, captured_to_mql,
       mql_to_sql, sql_to_poc, to_signed, mql_to_first_follow_up
FROM lead_velocity;

CREATE OR REPLACE VIEW bi.stage_stays WITH (security_invoker = true) AS
SELECT tenant_id, lead_id, seq, stage, entered_at, exited_at, seconds_in_stage, channel,
       campaign, region, industry, segment, capture_month, capture_week, captured_at,
       owner_rep_id, owner_team
FROM stage_stays;

CREATE OR REPLACE VIEW bi.lead_cohorts WITH (security_invoker = true) AS
SELECT tenant_id, lead_id, channel, campaign, region, industry, segment, owner_rep_id,
       owner_team, captured_at, capture_month, capture_week, seconds_to_mql, seconds_to_sql,
       seconds_to_poc, seconds_to_signed
FROM lead_cohorts;

CREATE OR REPLACE VIEW bi.lead_exits WITH (security_invoker = true) AS
SELECT tenant_id, lead_id, exit_kind, exited_at, from_stage, reason_code, reason_text, rep_id,
       team, reached_stage, exit_month, exit_week, channel, campaign, region, industry, segment,
       capture_month, captured_at, event_id
FROM lead_exits;

CREATE OR REPLACE VIEW bi.sla_clock_states WITH (security_invoker = true) AS
SELECT tenant_id, lead_id, policy_id, policy_version, start_event_id, started_at, at_risk_at,
       due_at, status, ended_at, end_recorded_at, stop_reason, breached_at, state_now,
       owner_team, owner_rep_id, owner_partner_id, segment, region, channel, paused_at
FROM sla_clock_states;

CREATE OR REPLACE VIEW bi.ownership_audit WITH (security_invoker = true) AS
SELECT tenant_id, lead_id, at, kind, team, rep_id, partner_id, granted, rule_id, reason, weights,
       event_id
FROM ownership_audit;

CREATE OR REPLACE VIEW bi.account_ownership_conflicts WITH (security_invoker = true) AS
SELECT tenant_id, company_domain, reps, open_leads, account_key, rep_open_leads, rep_since, tier,
       holder_rep_id, holder_since, holder_by, last_rule
FROM account_ownership_conflicts;

CREATE OR REPLACE VIEW bi.attribution_credits_by_model WITH (security_invoker = true) AS
SELECT tenant_id, lead_id, conversion, level, model, touch_index, touch_event_id, touch_lead_id,
       touch_at, channel, campaign, keyword, credit_minor, conversion_value_minor, currency,
       converted_at, captured_at, region, industry, segment
FROM attribution_credits_by_model;

CREATE OR REPLACE VIEW bi.marketing_spend WITH (security_invoker = true) AS
SELECT tenant_id, channel, campaign, period_start, period_end, amount_minor, currency,
       recorded_at
FROM marketing_spend;

-- Every merge of a lead into a survivor, and its unmerge if any (docs/IDENTITY.md).
CREATE OR REPLACE VIEW bi.lead_merges WITH (security_invoker = true) AS
SELECT tenant_id, lead_id, survivor_id, merged_at, merged_by, merge_reason, unmerged_at,
       unmerged_by, unmerge_reason, merge_intent AS merge_intent_id,
       unmerge_intent AS unmerge_intent_id
FROM lead_merges;

-- Every anonymous visitor linked to a lead: its touches are the lead's (docs/IDENTITY.md,
-- "Anonymous visitors").
CREATE OR REPLACE VIEW bi.visitor_links WITH (security_invoker = true) AS
SELECT tenant_id, substr(visitor_key, 10) AS visitor_id, lead_id, linked_at, linked_by,
       link_event AS link_event_id
FROM visitor_links;

-- Every lead with its account and its contact's role on the buying committee
-- (docs/IDENTITY.md, "Accounts and buying committees").
CREATE OR REPLACE VIEW bi.account_contacts WITH (security_invoker = true) AS
SELECT tenant_id, account_key AS account, lead_id, account_id, company_name,
       nullif(contact_role, '') AS contact_role, contact_role_at,
       primary_contact AND lead_id = first_value(lead_id) OVER (
         PARTITION BY tenant_id, account_key ORDER BY primary_since DESC NULLS LAST, lead_id
       ) AS primary_contact,
       stage, nullif(owner_rep_id, '') AS owner_rep_id, captured_at
FROM leads;
