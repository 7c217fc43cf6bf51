-- The duplicate keys of re-folded leads whose contact may have changed and that have a key
-- ($1 tenants, $2 leads, $3 e-mail, $4 phone, $5 name-at-company keys), inserted or
-- replaced.
INSERT INTO lead_match_keys (tenant_id, lead_id, match_email, match_phone, match_name)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
ON CONFLICT (tenant_id, lead_id) DO UPDATE
   SET match_email = EXCLUDED.match_email,
       match_phone = EXCLUDED.match_phone,
       match_name = EXCLUDED.match_name
