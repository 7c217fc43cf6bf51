-- The duplicate keys of every live lead of tenant $1 (1: e-mail, 2: phone, 4: name at
-- company), for `duplicates_pairs.sql`. Each by its partial index.
WITH keys AS (
    SELECT lead_id, 1 AS rule, match_email AS k
      FROM lead_match_keys WHERE tenant_id = $1 AND match_email <> ''
    UNION ALL
    SELECT lead_id, 2, match_phone
      FROM lead_match_keys WHERE tenant_id = $1 AND match_phone <> ''
    UNION ALL
    SELECT lead_id, 4, match_name
      FROM lead_match_keys WHERE tenant_id = $1 AND match_name <> ''
),
