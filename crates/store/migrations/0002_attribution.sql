-- Precomputed attribution credits (docs/ATTRIBUTION.md, "Precomputed credits").
-- Written by the credits worker, never by the core projector: the projector only queues
-- the leads whose timelines changed (attribution_dirty) in its own transaction. Every row
-- here is a function of the lead_events rows and the configured model set, so a rebuild
-- (TRUNCATE + queue every lead) gives the same rows.

-- Leads whose credits must be recomputed. Append-only; the worker deletes what it read.
CREATE TABLE attribution_dirty (
    id         bigserial PRIMARY KEY,
    tenant_id  text      NOT NULL,
    lead_id    text      NOT NULL
);

-- What the stored credits were computed with (one row). A different configured model set
-- or lookback makes the worker rebuild.
CREATE TABLE attribution_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint  text    NOT NULL,
    models       text[]  NOT NULL     -- credits[i] of attribution_credits is models[i]
);

-- Which account each lead is in ("domain:<d>" or "lead:<id>"), to find colleagues, and a
-- fingerprint of its touchpoints: colleagues are recomputed only when these change.
CREATE TABLE attribution_accounts (
    tenant_id    text   NOT NULL,
    lead_id      text   NOT NULL,
    account_key  text   NOT NULL,
    touches      bigint NOT NULL,
    PRIMARY KEY (tenant_id, lead_id)
);
CREATE INDEX attribution_accounts_by_key ON attribution_accounts (tenant_id, account_key);

-- One row per conversion of a lead and level.
CREATE TABLE attribution_conversions (
    tenant_id     text        NOT NULL,
    lead_id       text        NOT NULL,
    conversion    text        NOT NULL,   -- mql, sql, poc, signed, revenue
    level         text        NOT NULL,   -- contact, account
    converted_at  timestamptz NOT NULL,
    value_minor   bigint      NOT NULL,   -- 1000 (milli-conversions) or the signed amount
    currency      text        NOT NULL,   -- '' for counts
    captured_at   timestamptz,
    region        text        NOT NULL,
    industry      text        NOT NULL,
    segment       text        NOT NULL,
    touches       smallint    NOT NULL,   -- 0: nothing to credit (unattributed)
    PRIMARY KEY (tenant_id, lead_id, conversion, level)
);

-- One row per conversion × touch (× level); credits[i] is the amount of model i.
CREATE TABLE attribution_credits (
    tenant_id       text        NOT NULL,
    lead_id         text        NOT NULL,
    conversion      text        NOT NULL,
    level           text        NOT NULL,
    touch_index     smallint    NOT NULL,
    touch_event_id  uuid        NOT NULL,
    touch_lead_id   text        NOT NULL,
    touch_at        timestamptz NOT NULL,
    channel         text        NOT NULL,
    campaign        text        NOT NULL,
    keyword         text        NOT NULL,
    credits         bigint[]    NOT NULL,
    PRIMARY KEY (tenant_id, lead_id, conversion, level, touch_index)
);

-- Credit per level, conversion, currency, period basis, UTC day and dimension value;
-- credits[i] is model i (attribution_state.models), as in attribution_credits.
CREATE TABLE attribution_totals (
    tenant_id   text     NOT NULL,
    level       text     NOT NULL,
    conversion  text     NOT NULL,
    basis       text     NOT NULL,   -- captured, converted
    dimension   text     NOT NULL,   -- channel, campaign, keyword, region, industry, segment
    day         date     NOT NULL,
    currency    text     NOT NULL,
    value       text     NOT NULL,
    credits     bigint[] NOT NULL,
    PRIMARY KEY (tenant_id, level, conversion, basis, dimension, day, currency, value)
);

-- Conversions per level, conversion, currency, basis and day.
CREATE TABLE attribution_period_totals (
    tenant_id     text   NOT NULL,
    level         text   NOT NULL,
    conversion    text   NOT NULL,
    basis         text   NOT NULL,
    day           date   NOT NULL,
    currency      text   NOT NULL,
    conversions   bigint NOT NULL,
    unattributed  bigint NOT NULL,
    value_minor   bigint NOT NULL,
    PRIMARY KEY (tenant_id, level, conversion, basis, day, currency)
);

-- BI: one row per conversion × touch × model, with the converting lead's dimensions.
CREATE VIEW attribution_credits_by_model AS
SELECT c.tenant_id,
       c.lead_id,
       c.conversion,
       c.level,
       m.model,
       c.touch_index,
       c.touch_event_id,
       c.touch_lead_id,
       c.touch_at,
       c.channel,
       c.campaign,
       c.keyword,
       c.credits[m.ordinal] AS credit_minor,
       v.value_minor        AS conversion_value_minor,
       v.currency,
       v.converted_at,
       v.captured_at,
       v.region,
       v.industry,
       v.segment
FROM attribution_credits c
JOIN attribution_conversions v USING (tenant_id, lead_id, conversion, level)
CROSS JOIN attribution_state s
CROSS JOIN LATERAL unnest(s.models) WITH ORDINALITY AS m(model, ordinal);
