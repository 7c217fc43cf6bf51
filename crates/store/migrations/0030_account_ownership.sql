-- Account ownership (issue 18 item 5, docs/IDENTITY.md "Account ownership"): the
-- target-account list and the rulings on claims and assignments of an account's leads,
-- written by the projector from the facts under each account's key (`~account/<account>`)
-- in that key's log order (`leadledger_projection::accounts`).

-- Each account's holding: its tier and name on the target-account list ('' when not
-- listed) and the rep who holds it (by `listing`, or by `first_claim`: the first rep the
-- rule let through).
CREATE TABLE account_holdings (
    tenant_id     text        NOT NULL,
    account_key   text        NOT NULL,
    tier          text        NOT NULL DEFAULT '',
    name          text        NOT NULL DEFAULT '',
    holder_rep_id text        NOT NULL DEFAULT '',
    holder_team   text        NOT NULL DEFAULT '',
    holder_since  timestamptz,
    holder_by     text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, account_key)
);

-- One row per `AccountOwnershipRequested` intent: what the account's rule said, and why.
CREATE TABLE account_rulings (
    tenant_id     text        NOT NULL,
    intent_id     uuid        NOT NULL,
    account_key   text        NOT NULL,
    lead_id       text        NOT NULL,
    log_partition integer     NOT NULL,
    log_offset    bigint      NOT NULL,
    mode          text        NOT NULL,
    rep_id        text        NOT NULL,
    team          text        NOT NULL,
    requested_by  text        NOT NULL,
    requested_at  timestamptz NOT NULL,
    tier          text        NOT NULL,
    rule          text        NOT NULL,
    allowed       boolean     NOT NULL,
    holder_rep_id text        NOT NULL,
    holder_team   text        NOT NULL,
    holder_since  timestamptz,
    holder_by     text        NOT NULL,
    reason        text        NOT NULL,
    PRIMARY KEY (tenant_id, intent_id)
);
-- The account's latest ruling (the BI view's `last_rule`).
CREATE INDEX account_rulings_by_account ON account_rulings (tenant_id, account_key, log_offset);

-- Conflicts by account (explicit id or employer domain, as `leads.account_key` says), no
-- longer by raw company domain; an account counts when its open leads have more than one
-- owner, or an owner other than the rep holding the account. The BI view over it goes with
-- it and is published again at start with its new columns at its end (docs/BI.md).
DROP VIEW account_ownership_conflicts CASCADE;
CREATE VIEW account_ownership_conflicts WITH (security_invoker = true) AS
WITH owners AS (
    SELECT tenant_id, account_key, owner_rep_id AS rep_id, count(*) AS open_leads,
           min(owner_since) AS since,
           min(company_domain) FILTER (WHERE company_domain <> '') AS domain
    FROM leads
    WHERE account_key <> '' AND account_key NOT LIKE 'lead:%' AND owner_rep_id <> ''
      AND stage IN ('captured', 'mql', 'sql', 'poc')
    GROUP BY tenant_id, account_key, owner_rep_id
)
SELECT o.tenant_id,
       CASE WHEN o.account_key LIKE 'domain:%' THEN substr(o.account_key, 8)
            ELSE coalesce(min(o.domain), '') END AS company_domain,
       array_agg(o.rep_id ORDER BY o.rep_id) AS reps,
       sum(o.open_leads)::int8 AS open_leads,
       o.account_key,
       array_agg(o.open_leads ORDER BY o.rep_id) AS rep_open_leads,
       array_agg(o.since ORDER BY o.rep_id) AS rep_since,
       coalesce(h.tier, '') AS tier,
       coalesce(h.holder_rep_id, '') AS holder_rep_id,
       h.holder_since,
       coalesce(h.holder_by, '') AS holder_by,
       (SELECT r.rule FROM account_rulings r
        WHERE r.tenant_id = o.tenant_id AND r.account_key = o.account_key
        ORDER BY r.log_offset DESC LIMIT 1) AS last_rule
FROM owners o
LEFT JOIN account_holdings h ON h.tenant_id = o.tenant_id AND h.account_key = o.account_key
GROUP BY o.tenant_id, o.account_key, h.tier, h.holder_rep_id, h.holder_since, h.holder_by
HAVING count(*) > 1 OR bool_or(o.rep_id <> coalesce(nullif(h.holder_rep_id, ''), o.rep_id));

-- Behind a documented view: tenant-scoped like every such table (migration 0010).
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['account_holdings', 'account_rulings']
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
