-- The statements that give role $1 read access for BI (identifiers quoted by the server):
-- the role itself when missing (LOGIN), usage of the schema, and SELECT on the documented
-- views and the tables behind them. Returned, not run: they are utility statements.
SELECT stmt FROM (
  SELECT 1 AS n, format('CREATE ROLE %I LOGIN', $1::text) AS stmt
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1::text)
  UNION ALL
  SELECT 2, format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), $1::text)
  UNION ALL
  SELECT 3, format('GRANT SELECT ON %s TO %I',
    'funnel_counts, lead_velocity, sla_clock_states, ownership_audit, '
    || 'account_ownership_conflicts, attribution_credits_by_model, leads, lead_events, '
    || 'stage_visits, stage_transitions, sla_clocks, ownership_decisions, funnel_cells, '
    || 'funnel_month_cells, funnel_block_cells, attribution_accounts, '
    || 'attribution_conversions, attribution_credits, attribution_totals, '
    || 'attribution_period_totals, bi_grants, rls_app_roles', $1::text)
) s ORDER BY n
