-- Outgoing webhooks (issue 19, docs/SLA.md "Webhooks"): per tenant, a URL that is POSTed each
-- SLA alert and escalation step the filters let through, signed with the subscription's
-- secret, in log order per partition (so in order per lead), retried with backoff and given
-- up into a dead-letter list after `webhooks.max_attempts` failures.
CREATE TABLE webhook_subscriptions (
    subscription_id text        PRIMARY KEY,           -- "wh_" + 16 hex digits
    tenant_id       text        NOT NULL,
    name            text        NOT NULL DEFAULT '',
    url             text        NOT NULL,
    -- The HMAC-SHA256 key of the signatures. It must be readable to sign, so it is kept as
    -- given, in a table only the service's own role reads (docs/SECURITY.md).
    secret          text        NOT NULL,
    kinds           text[]      NOT NULL,              -- at_risk, breached, escalated
    team            text        NOT NULL DEFAULT '',   -- filters of the lead's current owner
    rep_id          text        NOT NULL DEFAULT '',   -- and lead, '' for any (as WatchSla)
    segment         text        NOT NULL DEFAULT '',
    region          text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);

-- Where each subscription stands per partition of the events topic: the last offset delivered
-- or given up (inclusive; absent: nothing yet), and the failed attempts at the next notice.
-- Written after each answer, so delivery state survives restarts: a notice is delivered at
-- least once, and again only when the process died between the answer and this row.
CREATE TABLE webhook_cursors (
    subscription_id text        NOT NULL REFERENCES webhook_subscriptions ON DELETE CASCADE,
    log_partition   int4        NOT NULL,
    last_offset     int8        NOT NULL,
    attempts        int4        NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error      text        NOT NULL DEFAULT '',
    PRIMARY KEY (subscription_id, log_partition)
);

-- Notices given up after `webhooks.max_attempts` failures, with the body that was sent.
CREATE TABLE webhook_dead_letters (
    subscription_id text        NOT NULL REFERENCES webhook_subscriptions ON DELETE CASCADE,
    event_id        uuid        NOT NULL,
    tenant_id       text        NOT NULL,
    lead_id         text        NOT NULL,
    log_partition   int4        NOT NULL,
    log_offset      int8        NOT NULL,
    attempts        int4        NOT NULL,
    last_error      text        NOT NULL,
    failed_at       timestamptz NOT NULL,
    body            text        NOT NULL,
    PRIMARY KEY (subscription_id, event_id)
);
