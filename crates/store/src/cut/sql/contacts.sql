-- The contact columns of some leads as they are now ($1 tenant, $2 lead ids): a lead at a cut
-- shows its contact as the ledger holds it today (erased stays erased at every cut).
SELECT lead_id, email, phone, contact_name, contact_title, contact_erased_at
FROM leads WHERE tenant_id = $1 AND lead_id = ANY($2::text[])
