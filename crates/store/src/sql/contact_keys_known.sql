-- Whether the ledger was told of a capture of the lead ($1 tenant, $2 lead): a key was made
-- for it (live or destroyed), or a capture of it was projected (a clear, version-1 one).
SELECT EXISTS (SELECT 1 FROM contact_keys WHERE tenant_id = $1 AND lead_id = $2)
    OR EXISTS (SELECT 1 FROM leads WHERE tenant_id = $1 AND lead_id = $2 AND captured_at IS NOT NULL)
