-- Marketing-to-sales hand-off: SLA clocks, ownership decisions, feedback completeness
-- (docs/SLA.md). Every row is a function of lead_events (and, for ownership, of log order),
-- so a rebuild from offset 0 gives the same rows.

ALTER TABLE leads
    ADD COLUMN owner_since        timestamptz,          -- business time of the last owner change
    ADD COLUMN feedback_required  integer NOT NULL DEFAULT 0,  -- owed (stage, field) pairs
    ADD COLUMN feedback_filled    integer NOT NULL DEFAULT 0;  -- of which filled
CREATE INDEX leads_by_partner ON leads (tenant_id, owner_partner_id) WHERE owner_partner_id <> '';
CREATE INDEX leads_by_domain ON leads (tenant_id, company_domain) WHERE company_domain <> '';

-- Every SLA clock of every lead, evaluated over the whole timeline. A running clock's
-- at-risk/breached state depends on "now": see sla_clock_state() and the view below.
CREATE TABLE sla_clocks (
    tenant_id         text        NOT NULL,
    lead_id           text        NOT NULL,
    policy_id         text        NOT NULL,
    start_event_id    uuid        NOT NULL,   -- the fact that opened the clock
    policy_version    integer     NOT NULL,
    started_at        timestamptz NOT NULL,
    at_risk_at        timestamptz NOT NULL,
    due_at            timestamptz NOT NULL,
    status            text        NOT NULL,   -- running | met | met_late | stopped
    ended_at          timestamptz,            -- the target or stop fact's business time
    end_event_id      uuid,
    end_recorded_at   timestamptz,            -- when that fact was ingested
    stop_reason       text        NOT NULL DEFAULT '',
    breached_at       timestamptz,            -- ended clocks that breached (met late, stopped late)
    at_risk_event_id  uuid        NOT NULL,   -- the id an SlaAtRisk alert for it has
    breach_event_id   uuid        NOT NULL,   -- the id an SlaBreached alert for it has
    PRIMARY KEY (tenant_id, lead_id, policy_id, start_event_id)
);
CREATE INDEX sla_clocks_running ON sla_clocks (at_risk_at) WHERE status = 'running';
CREATE INDEX sla_clocks_by_start ON sla_clocks (tenant_id, started_at);

-- A clock's state at `now`: ended clocks keep their status; running ones are open, at_risk
-- or breached.
CREATE FUNCTION sla_clock_state(status text, at_risk_at timestamptz, due_at timestamptz,
                                now timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN status <> 'running' THEN status
                WHEN now > due_at THEN 'breached'
                WHEN now >= at_risk_at THEN 'at_risk'
                ELSE 'open' END
$$;

-- Ownership requests (ClaimLead / AssignLead), decided by the projector in log order.
CREATE TABLE ownership_decisions (
    intent_id        uuid        PRIMARY KEY,
    tenant_id        text        NOT NULL,
    lead_id          text        NOT NULL,
    log_partition    integer     NOT NULL,
    log_offset       bigint      NOT NULL,
    mode             text        NOT NULL,   -- claim | assign
    rep_id           text        NOT NULL,
    team             text        NOT NULL,
    requested_by     text        NOT NULL,
    expected_rep_id  text        NOT NULL,
    requested_at     timestamptz NOT NULL,
    granted          boolean     NOT NULL,
    owner_before     text        NOT NULL,   -- the rep who owned the lead just before
    reason           text        NOT NULL
);
CREATE INDEX ownership_decisions_by_lead ON ownership_decisions (tenant_id, lead_id);

-- BI view: every clock with its state now and the lead's current owner and dimensions.
CREATE VIEW sla_clock_states AS
SELECT c.tenant_id, c.lead_id, c.policy_id, c.policy_version, c.start_event_id,
       c.started_at, c.at_risk_at, c.due_at, c.status, c.ended_at, c.end_recorded_at,
       c.stop_reason, c.breached_at,
       sla_clock_state(c.status, c.at_risk_at, c.due_at, now()) AS state_now,
       l.owner_team, l.owner_rep_id, l.owner_partner_id, l.segment, l.region, l.channel
FROM sla_clocks c JOIN leads l USING (tenant_id, lead_id);

-- BI view: every routing decision and every granted or refused ownership request, with why.
CREATE VIEW ownership_audit AS
SELECT e.tenant_id, e.lead_id, e.occurred_at AS at, 'routed'::text AS kind,
       e.body->'payload'->'LeadRouted'->'owner'->>'team'       AS team,
       e.body->'payload'->'LeadRouted'->'owner'->>'rep_id'     AS rep_id,
       e.body->'payload'->'LeadRouted'->'owner'->>'partner_id' AS partner_id,
       true AS granted,
       e.body->'payload'->'LeadRouted'->>'rule_id'             AS rule_id,
       e.body->'payload'->'LeadRouted'->>'reason'              AS reason,
       e.body->'payload'->'LeadRouted'->'weights'              AS weights,
       e.event_id
FROM lead_events e WHERE e.event_type = 'lead_routed'
UNION ALL
SELECT d.tenant_id, d.lead_id, d.requested_at, d.mode, d.team, d.rep_id, '', d.granted, '',
       d.reason, NULL, d.intent_id
FROM ownership_decisions d;

-- BI view: accounts (company domains) whose open leads are owned by more than one rep.
CREATE VIEW account_ownership_conflicts AS
SELECT tenant_id, company_domain,
       array_agg(DISTINCT owner_rep_id ORDER BY owner_rep_id) AS reps,
       count(*) AS open_leads
FROM leads
WHERE company_domain <> '' AND owner_rep_id <> ''
  AND stage IN ('captured', 'mql', 'sql', 'poc')
GROUP BY tenant_id, company_domain
HAVING count(DISTINCT owner_rep_id) > 1;
