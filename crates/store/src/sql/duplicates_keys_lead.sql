-- The duplicate keys shared with lead $8 of tenant $1 (1: e-mail, 2: phone, 4: name at
-- company), for `duplicates_pairs.sql`: the lead's own keys and every lead holding one of
-- them, each by its partial index.
WITH mine AS (
    SELECT match_email, match_phone, match_name
      FROM lead_match_keys WHERE tenant_id = $1 AND lead_id = $8
),
keys AS (
    SELECT l.lead_id, 1 AS rule, l.match_email AS k
      FROM lead_match_keys l, mine
     WHERE l.tenant_id = $1 AND l.match_email <> '' AND l.match_email = mine.match_email
    UNION ALL
    SELECT l.lead_id, 2, l.match_phone
      FROM lead_match_keys l, mine
     WHERE l.tenant_id = $1 AND l.match_phone <> '' AND l.match_phone = mine.match_phone
    UNION ALL
    SELECT l.lead_id, 4, l.match_name
      FROM lead_match_keys l, mine
     WHERE l.tenant_id = $1 AND l.match_name <> '' AND l.match_name = mine.match_name
),
