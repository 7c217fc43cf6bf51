-- The coverage slots a batch assigned (in key order), since their latest assignment.
INSERT INTO account_coverage AS c (tenant_id, account_key, role, rep_id, since)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
ON CONFLICT (tenant_id, account_key, role, rep_id) DO UPDATE SET since = EXCLUDED.since
