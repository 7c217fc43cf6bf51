-- Target accounts, coverage and renewals (issue 18 item 6, docs/IDENTITY.md "Target
-- accounts, coverage and renewals"): who covers each account in which role, and a customer
-- account's renewal dates, written by the projector from the facts under each account's key
-- (`~account/<account>`) in that key's log order (`leadledger_projection::accounts`).

-- One row per account, role and rep covering it; `since` the latest assignment's time.
CREATE TABLE account_coverage (
    tenant_id   text        NOT NULL,
    account_key text        NOT NULL,
    role        text        NOT NULL,
    rep_id      text        NOT NULL,
    since       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, account_key, role, rep_id)
);

-- One row per account and contract: the latest renewal date scheduled for it. Its state
-- (upcoming, warning, due) is computed when read, from the date and the instant asked about.
CREATE TABLE account_renewals (
    tenant_id    text        NOT NULL,
    account_key  text        NOT NULL,
    contract_id  text        NOT NULL,
    renews_on    date        NOT NULL,
    amount_minor bigint      NOT NULL,
    currency     text        NOT NULL,
    scheduled_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, account_key, contract_id)
);
CREATE INDEX account_renewals_by_date ON account_renewals (tenant_id, renews_on);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['account_coverage', 'account_renewals']
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
