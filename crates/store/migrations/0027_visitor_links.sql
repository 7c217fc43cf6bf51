-- Anonymous visitors (issue 18 item 3, docs/IDENTITY.md "Anonymous visitors"): a visitor's
-- facts (touches, and the `identity_linked` that says which lead it is) sit in `lead_events`
-- under its key, `~visitor/` and its id. A granted link makes the visitor's touches its
-- lead's: the read models fold them into the lead's group. A projection of the link facts,
-- decided in the visitor's log order (the first link holds); a replay gives the same rows.

-- One row per linked visitor: the link that holds.
CREATE TABLE visitor_links (
    tenant_id          text        NOT NULL,
    -- The visitor's key, as `lead_events.lead_id` holds it (`~visitor/` and its id).
    visitor_key        text        NOT NULL,
    lead_id            text        NOT NULL,
    -- The `identity_linked` fact that made the link.
    link_event         uuid        NOT NULL,
    linked_at          timestamptz NOT NULL,
    linked_recorded_at timestamptz NOT NULL,
    -- The source system that told it.
    linked_by          text        NOT NULL,
    PRIMARY KEY (tenant_id, visitor_key),
    CHECK (visitor_key LIKE '~visitor/_%')
);
-- A lead's visitors (every fold of a group reads them).
CREATE INDEX visitor_links_lead ON visitor_links (tenant_id, lead_id);

-- Links are decisions too: a later link of a visitor to another lead is refused, and the
-- refusal is kept with the merges'.
ALTER TABLE identity_decisions DROP CONSTRAINT identity_decisions_kind_check;
ALTER TABLE identity_decisions ADD CONSTRAINT identity_decisions_kind_check
  CHECK (kind IN ('merge', 'unmerge', 'link'));

-- The tenant-scoped policy of every table behind a documented view (migration 0010):
-- `bi.visitor_links` reads it.
ALTER TABLE visitor_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE visitor_links FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON visitor_links
  USING ((SELECT EXISTS (SELECT 1 FROM rls_app_roles a WHERE a.role_name = current_user))
         OR tenant_id IN (SELECT g.tenant_id FROM bi_grants g WHERE g.role_name = current_user))
  WITH CHECK ((SELECT EXISTS (SELECT 1 FROM rls_app_roles a WHERE a.role_name = current_user)));
