-- Personal data is erasable (issue 18, docs/PRIVACY.md): ingest seals each lead's contact
-- with a data key before it goes to the log, and the keys live here, never in the log.
-- Erasing a contact destroys its keys (`key` set to NULL): every sealed copy of the contact,
-- in the topic, in `lead_events.raw` and in backups taken afterwards, is then unreadable.
CREATE TABLE contact_keys (
    key_id        uuid        PRIMARY KEY,
    tenant_id     text        NOT NULL,
    lead_id       text        NOT NULL,
    -- 32 bytes (AES-256-GCM); NULL once destroyed.
    key           bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    destroyed_at  timestamptz,
    CHECK ((key IS NULL) = (destroyed_at IS NOT NULL)),
    CHECK (key IS NULL OR length(key) = 32)
);
-- One live key per lead: ingest makes it on the lead's first capture and reuses it.
CREATE UNIQUE INDEX contact_keys_live ON contact_keys (tenant_id, lead_id) WHERE key IS NOT NULL;
-- Erasure finds every key of a lead, destroyed or not.
CREATE INDEX contact_keys_lead ON contact_keys (tenant_id, lead_id);

-- When the lead's contact was erased (business time of the `ContactErased` fact).
ALTER TABLE leads ADD COLUMN contact_erased_at timestamptz;
