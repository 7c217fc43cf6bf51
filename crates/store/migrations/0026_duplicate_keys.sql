-- Duplicate candidates (issue 18, docs/IDENTITY.md "Duplicate candidates"): each live lead's
-- keys for the duplicate rules, normalised by the projector from the contact it opened
-- (`leadledger_domain::identity::matching`), so SQL only compares them. Personal data like
-- the contact beside them: empty for an erased contact, never in the log.
--
-- Adding a column with a constant default rewrites no row; the check and each index read
-- `leads` once while writes to it wait (seconds for a million leads). Leads projected before
-- this migration get their keys with their next fact, or all at once with
-- `leadledger rebuild` (docs/OPERATIONS.md).
ALTER TABLE leads
    ADD COLUMN match_email text NOT NULL DEFAULT '',
    ADD COLUMN match_phone text NOT NULL DEFAULT '',
    ADD COLUMN match_name  text NOT NULL DEFAULT '',
    -- No key outlives its contact: a writer that empties a contact (an erasure) and leaves
    -- its keys is refused, not obeyed halfway (a projector older than this migration does
    -- not know the keys: roll forward, docs/OPERATIONS.md).
    ADD CONSTRAINT leads_match_keys_need_their_contact CHECK (
        (match_email = '' OR email <> '')
        AND (match_phone = '' OR phone <> '')
        AND (match_name = '' OR contact_name <> ''));

-- With the lead id, so the candidates are read from the indexes alone.
CREATE INDEX leads_match_email ON leads (tenant_id, match_email) INCLUDE (lead_id)
  WHERE match_email <> '';
CREATE INDEX leads_match_phone ON leads (tenant_id, match_phone) INCLUDE (lead_id)
  WHERE match_phone <> '';
CREATE INDEX leads_match_name ON leads (tenant_id, match_name) INCLUDE (lead_id)
  WHERE match_name <> '';
