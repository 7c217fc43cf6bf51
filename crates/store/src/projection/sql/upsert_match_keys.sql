-- The duplicate keys of re-folded leads whose contact may have changed ($1 tenants, $2 leads,
-- $3 e-mail, $4 phone, $5 name-at-company keys): a lead with no key has no row (an erased
-- contact's row goes), the others are inserted or replaced.
WITH k AS (
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
             AS k(tenant_id, lead_id, match_email, match_phone, match_name)
), gone AS (
    DELETE FROM lead_match_keys m
     USING k
     WHERE m.tenant_id = k.tenant_id AND m.lead_id = k.lead_id
       AND k.match_email = '' AND k.match_phone = '' AND k.match_name = ''
)
INSERT INTO lead_match_keys (tenant_id, lead_id, match_email, match_phone, match_name)
SELECT tenant_id, lead_id, match_email, match_phone, match_name
  FROM k
 WHERE match_email <> '' OR match_phone <> '' OR match_name <> ''
ON CONFLICT (tenant_id, lead_id) DO UPDATE
   SET match_email = EXCLUDED.match_email,
       match_phone = EXCLUDED.match_phone,
       match_name = EXCLUDED.match_name
