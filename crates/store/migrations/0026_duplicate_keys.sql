-- Duplicate candidates (issue 18, docs/IDENTITY.md "Duplicate candidates"): each live lead's
-- keys for the duplicate rules, normalised by the projector from the contact it opened
-- (`leadledger_domain::identity::matching`), so SQL only compares them. Personal data like
-- the contact beside them: empty for an erased contact, never in the log.
--
-- Adding a column with a constant default rewrites no row, and every key starts empty, so
-- the partial indexes below start empty too: this migration is instant on a large table.
-- Leads projected before it get their keys with their next fact, or all at once with
-- `leadledger rebuild` (docs/OPERATIONS.md).
ALTER TABLE leads
    ADD COLUMN match_email text NOT NULL DEFAULT '',
    ADD COLUMN match_phone text NOT NULL DEFAULT '',
    ADD COLUMN match_name  text NOT NULL DEFAULT '';

CREATE INDEX leads_match_email ON leads (tenant_id, match_email) WHERE match_email <> '';
CREATE INDEX leads_match_phone ON leads (tenant_id, match_phone) WHERE match_phone <> '';
CREATE INDEX leads_match_name  ON leads (tenant_id, match_name)  WHERE match_name  <> '';
