-- Marketing spend (issue 17, "Spend and ROI"): per tenant, channel, campaign and period of
-- whole days, the statement recorded last (`SpendRecorded`, filed under the spend's own log
-- key). Derived from the log like every read model: a replay gives the same rows, and the
-- statement recorded last wins whatever the batching (`recorded_at`, then `event_id`).
CREATE TABLE marketing_spend (
    tenant_id     text        NOT NULL,
    channel       text        NOT NULL,
    campaign      text        NOT NULL,
    period_start  date        NOT NULL,
    period_end    date        NOT NULL,
    amount_minor  bigint      NOT NULL,
    currency      text        NOT NULL,
    event_id      uuid        NOT NULL,
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, channel, campaign, period_start, period_end)
);

-- The tenant-scoped policy of every table behind a documented view (migration 0010).
ALTER TABLE marketing_spend ENABLE ROW LEVEL SECURITY;
ALTER TABLE marketing_spend FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON marketing_spend
  USING ((SELECT EXISTS (SELECT 1 FROM rls_app_roles a WHERE a.role_name = current_user))
         OR tenant_id IN (SELECT g.tenant_id FROM bi_grants g WHERE g.role_name = current_user))
  WITH CHECK ((SELECT EXISTS (SELECT 1 FROM rls_app_roles a WHERE a.role_name = current_user)));
