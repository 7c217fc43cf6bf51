-- Duplicate candidates (issue 18, docs/IDENTITY.md "Duplicate candidates"): each live lead's
-- keys for the duplicate rules, normalised by the projector from the contact it opened
-- (`leadledger_domain::identity::matching`), so SQL only compares them. Personal data like
-- the contact they come from: no row for an erased contact, never in the log.
--
-- A table of its own, not columns of `leads`: the projector writes a lead's keys only when its
-- contact may have changed (a capture, an erasure, a merge), so the facts that change no
-- contact (nearly all) do not touch these indexes. A lead with no key has no row; the
-- projector deletes a lead's row with the lead (a lead merged into another). No foreign key:
-- its check would lock every new lead's row once more in the projector's hot path.
CREATE TABLE lead_match_keys (
    tenant_id   text NOT NULL,
    lead_id     text NOT NULL,
    match_email text NOT NULL,
    match_phone text NOT NULL,
    match_name  text NOT NULL,
    PRIMARY KEY (tenant_id, lead_id)
);

-- With the lead id, so the candidates are read from the indexes alone.
CREATE INDEX lead_match_keys_email ON lead_match_keys (tenant_id, match_email) INCLUDE (lead_id)
  WHERE match_email <> '';
CREATE INDEX lead_match_keys_phone ON lead_match_keys (tenant_id, match_phone) INCLUDE (lead_id)
  WHERE match_phone <> '';
CREATE INDEX lead_match_keys_name ON lead_match_keys (tenant_id, match_name) INCLUDE (lead_id)
  WHERE match_name <> '';
