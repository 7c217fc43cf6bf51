-- Who is who (issue 18, docs/IDENTITY.md): leads merged into a survivor and split off again.
-- Both tables are projections of the identity intents (`merge_requested`,
-- `unmerge_requested`, filed under the lead id `~identity`), decided in log order; a replay
-- from offset 0 gives the same rows.

-- Every decision, granted or refused (the audit; the command RPCs answer from it).
CREATE TABLE identity_decisions (
    intent_id      uuid        NOT NULL,
    tenant_id      text        NOT NULL,
    log_partition  int         NOT NULL,
    log_offset     bigint      NOT NULL,
    -- 'merge' or 'unmerge'.
    kind           text        NOT NULL CHECK (kind IN ('merge', 'unmerge')),
    -- The survivor (for an unmerge: the lead's survivor when granted, else empty).
    survivor_id    text        NOT NULL,
    -- The leads merged, or the one split off.
    lead_ids       text[]      NOT NULL,
    requested_by   text        NOT NULL,
    why            text        NOT NULL,
    requested_at   timestamptz NOT NULL,
    granted        boolean     NOT NULL,
    -- Why it was refused (empty when granted).
    refusal        text        NOT NULL,
    PRIMARY KEY (intent_id, tenant_id)
);

-- One row per lead merged: live while `unmerge_intent` is NULL. The read models fold a
-- live merged lead's facts into its survivor's timeline; a query at a cut reads the rows
-- the cut admits (merged and not yet unmerged by then).
CREATE TABLE lead_merges (
    tenant_id            text        NOT NULL,
    lead_id              text        NOT NULL,
    survivor_id          text        NOT NULL,
    merge_intent         uuid        NOT NULL,
    merged_at            timestamptz NOT NULL,
    merged_recorded_at   timestamptz NOT NULL,
    merged_by            text        NOT NULL,
    merge_reason         text        NOT NULL,
    unmerge_intent       uuid,
    unmerged_at          timestamptz,
    unmerged_recorded_at timestamptz,
    unmerged_by          text,
    unmerge_reason       text,
    PRIMARY KEY (tenant_id, lead_id, merge_intent),
    CHECK ((unmerge_intent IS NULL) = (unmerged_at IS NULL))
);
-- At most one live merge per lead.
CREATE UNIQUE INDEX lead_merges_live ON lead_merges (tenant_id, lead_id)
  WHERE unmerge_intent IS NULL;
-- A survivor's merged leads (live ones for the projector, all for the audit).
CREATE INDEX lead_merges_survivor ON lead_merges (tenant_id, survivor_id);

-- The tenant-scoped policy of every table behind a documented view (migration 0010).
ALTER TABLE lead_merges ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_merges FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON lead_merges
  USING ((SELECT EXISTS (SELECT 1 FROM rls_app_roles a WHERE a.role_name = current_user))
         OR tenant_id IN (SELECT g.tenant_id FROM bi_grants g WHERE g.role_name = current_user))
  WITH CHECK ((SELECT EXISTS (SELECT 1 FROM rls_app_roles a WHERE a.role_name = current_user)));
ALTER TABLE identity_decisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE identity_decisions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON identity_decisions
  USING ((SELECT EXISTS (SELECT 1 FROM rls_app_roles a WHERE a.role_name = current_user))
         OR tenant_id IN (SELECT g.tenant_id FROM bi_grants g WHERE g.role_name = current_user))
  WITH CHECK ((SELECT EXISTS (SELECT 1 FROM rls_app_roles a WHERE a.role_name = current_user)));
