-- API keys (issue 15): each bound to one tenant, with scopes and an optional expiry. Only
-- the SHA-256 of the secret part is stored (the secret is 256 random bits, so a fast hash
-- is enough: there is nothing to guess by brute force); the key is shown once, at creation.
CREATE TABLE api_keys (
    key_id        text        PRIMARY KEY,   -- the public part: `llk_<key_id>_<secret>`
    tenant_id     text        NOT NULL,
    name          text        NOT NULL DEFAULT '',
    scopes        text[]      NOT NULL,      -- ingest | query | command | admin
    secret_sha256 bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,               -- NULL: never
    revoked_at    timestamptz,               -- NULL: live
    replaces      text        NOT NULL DEFAULT ''  -- the key this one rotated
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);

-- Event ids are unique per tenant, not globally: tenant B's event can never be skipped as a
-- duplicate of tenant A's. Ingest also derives the stored id of a client-supplied UUID from
-- the tenant (docs/SECURITY.md), so ids no longer collide across tenants at all; the key
-- says so as well. `event_id` stays first so lookups by id alone keep using the index.
ALTER TABLE lead_events DROP CONSTRAINT lead_events_pkey,
    ADD PRIMARY KEY (event_id, tenant_id);
ALTER TABLE ownership_decisions DROP CONSTRAINT ownership_decisions_pkey,
    ADD PRIMARY KEY (intent_id, tenant_id);
