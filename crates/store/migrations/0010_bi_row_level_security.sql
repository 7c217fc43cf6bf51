-- Tenant-scoped BI access (issue 15, docs/SECURITY.md "BI users").
--
-- A BI role reads only the tenants granted to it in `bi_grants`, through PostgreSQL
-- row-level security on every table behind the documented views (FORCE: the owner is no
-- exception). The views run with their caller's rights (`security_invoker`), so the policies
-- see the BI role, not the views' owner. Roles that write the read models (the role that ran
-- this migration, and any role `leadledger bi app-role` adds) see every row; every other role
-- sees only what `bi_grants` gives it, so a role nobody registered sees nothing (fail closed).
-- Superusers and BYPASSRLS roles bypass row-level security, as PostgreSQL always does.

-- Roles that read and write every tenant's rows (leadledger itself).
CREATE TABLE rls_app_roles (
    role_name text PRIMARY KEY
);
INSERT INTO rls_app_roles VALUES (current_user);

-- Which tenants each BI role may read.
CREATE TABLE bi_grants (
    role_name  text        NOT NULL,
    tenant_id  text        NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role_name, tenant_id)
);

-- A BI role sees its own grants only.
ALTER TABLE bi_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_grants FORCE ROW LEVEL SECURITY;
CREATE POLICY bi_grants_own ON bi_grants
    USING (role_name = current_user
           OR (SELECT EXISTS (SELECT 1 FROM rls_app_roles a WHERE a.role_name = current_user)));
ALTER TABLE rls_app_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_app_roles FORCE ROW LEVEL SECURITY;
CREATE POLICY rls_app_roles_any ON rls_app_roles USING (true);

-- The same policy on every table behind a documented view. The app-role test is an
-- uncorrelated subquery: PostgreSQL evaluates it once per statement (an InitPlan), so the
-- projector's statements pay one lookup, not one per row.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['leads', 'lead_events', 'stage_visits', 'stage_transitions',
      'sla_clocks', 'ownership_decisions', 'funnel_cells', 'funnel_month_cells',
      'funnel_block_cells', 'attribution_accounts', 'attribution_conversions',
      'attribution_credits', 'attribution_totals', 'attribution_period_totals']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_scope ON %I
      USING ((SELECT EXISTS (SELECT 1 FROM rls_app_roles a WHERE a.role_name = current_user))
             OR tenant_id IN (SELECT g.tenant_id FROM bi_grants g
                              WHERE g.role_name = current_user))
      WITH CHECK ((SELECT EXISTS (SELECT 1 FROM rls_app_roles a
                                   WHERE a.role_name = current_user)))$p$, t);
  END LOOP;
END $$;

-- The documented views apply the policies of whoever queries them.
ALTER VIEW funnel_counts SET (security_invoker = true);
ALTER VIEW lead_velocity SET (security_invoker = true);
ALTER VIEW sla_clock_states SET (security_invoker = true);
ALTER VIEW ownership_audit SET (security_invoker = true);
ALTER VIEW account_ownership_conflicts SET (security_invoker = true);
ALTER VIEW attribution_credits_by_model SET (security_invoker = true);
