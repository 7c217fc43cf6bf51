-- The account a lead is in.
SELECT account_key FROM leads WHERE tenant_id = $1 AND lead_id = $2
