-- leadledger read models. Every row carries its tenant; every query is scoped to one.
-- Nothing here reads the wall clock: rebuilding from offset 0 gives the same rows.

-- Projector checkpoints: the next offset to apply per (projection, topic, partition).
-- Written in the same transaction as the read models it covers.
CREATE TABLE projector_checkpoints (
    projection   text    NOT NULL,
    topic        text    NOT NULL,
    partition    integer NOT NULL,
    next_offset  bigint  NOT NULL,
    PRIMARY KEY (projection, topic, partition)
);

-- The full timeline, bitemporal: occurred_at (business time) and recorded_at (ingest time).
-- The primary key on event_id is the applied-event set: a duplicate is skipped on insert.
CREATE TABLE lead_events (
    event_id         uuid        PRIMARY KEY,
    tenant_id        text        NOT NULL,
    lead_id          text        NOT NULL,
    event_type       text        NOT NULL,
    schema_version   integer     NOT NULL,
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL,
    source_system    text        NOT NULL,
    source_event_id  text        NOT NULL,
    log_partition    integer     NOT NULL,
    log_offset       bigint      NOT NULL,
    known            boolean     NOT NULL,      -- false: a type this reader does not know
    body             jsonb       NOT NULL,      -- the domain event, for SQL and BI
    raw              bytea       NOT NULL       -- the record value exactly as in the log
);
CREATE INDEX lead_events_by_lead ON lead_events (tenant_id, lead_id, occurred_at, event_id);

-- Current state of each lead, derived by folding its timeline in business-time order.
CREATE TABLE leads (
    tenant_id            text        NOT NULL,
    lead_id              text        NOT NULL,
    stage                text,                   -- null until a stage-changing fact arrives
    owner_team           text        NOT NULL DEFAULT '',
    owner_queue          text        NOT NULL DEFAULT '',
    owner_rep_id         text        NOT NULL DEFAULT '',
    owner_partner_id     text        NOT NULL DEFAULT '',
    email                text        NOT NULL DEFAULT '',
    phone                text        NOT NULL DEFAULT '',
    contact_name         text        NOT NULL DEFAULT '',
    contact_title        text        NOT NULL DEFAULT '',
    company_name         text        NOT NULL DEFAULT '',
    company_domain       text        NOT NULL DEFAULT '',
    region               text        NOT NULL DEFAULT '',
    industry             text        NOT NULL DEFAULT '',
    segment              text        NOT NULL DEFAULT '',
    employees            integer     NOT NULL DEFAULT 0,
    channel              text        NOT NULL DEFAULT '',
    campaign             text        NOT NULL DEFAULT '',
    medium               text        NOT NULL DEFAULT '',
    keyword              text        NOT NULL DEFAULT '',
    utm_source           text        NOT NULL DEFAULT '',
    utm_medium           text        NOT NULL DEFAULT '',
    utm_campaign         text        NOT NULL DEFAULT '',
    utm_term             text        NOT NULL DEFAULT '',
    utm_content          text        NOT NULL DEFAULT '',
    landing_page         text        NOT NULL DEFAULT '',
    referrer             text        NOT NULL DEFAULT '',
    offline_activity_id  text        NOT NULL DEFAULT '',
    captured_at          timestamptz,
    mql_at               timestamptz,            -- first entry into each main-line stage
    sql_at               timestamptz,
    poc_at               timestamptz,
    signed_at            timestamptz,
    max_rank             smallint    NOT NULL,   -- furthest main-line stage: 1 captured .. 5 signed
    signed_amount_minor  bigint      NOT NULL DEFAULT 0,
    signed_currency      text        NOT NULL DEFAULT '',
    poc_outcome          text        NOT NULL DEFAULT '',
    event_count          integer     NOT NULL,
    unknown_event_count  integer     NOT NULL,
    touch_count          integer     NOT NULL,
    follow_up_count      integer     NOT NULL,
    first_follow_up_at   timestamptz,
    last_event_at        timestamptz,
    PRIMARY KEY (tenant_id, lead_id)
);
CREATE INDEX leads_by_capture ON leads (tenant_id, (coalesce(captured_at, 'epoch'::timestamptz)) DESC, lead_id DESC);
CREATE INDEX leads_by_stage ON leads (tenant_id, stage);
CREATE INDEX leads_by_channel ON leads (tenant_id, channel, campaign);
CREATE INDEX leads_by_owner ON leads (tenant_id, owner_rep_id);

-- Every stay in a stage, in order.
CREATE TABLE stage_visits (
    tenant_id   text        NOT NULL,
    lead_id     text        NOT NULL,
    seq         integer     NOT NULL,
    stage       text        NOT NULL,
    entered_at  timestamptz NOT NULL,
    exited_at   timestamptz,
    PRIMARY KEY (tenant_id, lead_id, seq)
);

-- Every stage change, with its kind: forward, skip (with the skipped stages), regression,
-- exit (to a side stage) or reentry.
CREATE TABLE stage_transitions (
    tenant_id   text        NOT NULL,
    lead_id     text        NOT NULL,
    seq         integer     NOT NULL,
    from_stage  text,
    to_stage    text        NOT NULL,
    at          timestamptz NOT NULL,
    event_id    uuid        NOT NULL,
    kind        text        NOT NULL,
    skipped     text[]      NOT NULL,
    PRIMARY KEY (tenant_id, lead_id, seq)
);
CREATE INDEX stage_transitions_by_kind ON stage_transitions (tenant_id, kind, at);

-- BI view: funnel counts per capture day and source/company dimensions. A lead counts at a
-- stage if it reached that stage or a later main-line stage.
CREATE VIEW funnel_counts AS
SELECT tenant_id,
       (captured_at AT TIME ZONE 'UTC')::date AS capture_date,
       channel, campaign, region, industry, segment,
       count(*)                                AS captured,
       count(*) FILTER (WHERE max_rank >= 2)   AS mql,
       count(*) FILTER (WHERE max_rank >= 3)   AS sql,
       count(*) FILTER (WHERE max_rank >= 4)   AS poc,
       count(*) FILTER (WHERE max_rank >= 5)   AS signed
FROM leads
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- BI view: stage velocity, one row per lead with the time spent between main-line stages.
CREATE VIEW lead_velocity AS
SELECT tenant_id, lead_id, channel, campaign, region, industry, segment,
       mql_at - captured_at    AS captured_to_mql,
       sql_at - mql_at         AS mql_to_sql,
       poc_at - sql_at         AS sql_to_poc,
       signed_at - coalesce(poc_at, sql_at) AS to_signed,
       first_follow_up_at - mql_at AS mql_to_first_follow_up
FROM leads;
