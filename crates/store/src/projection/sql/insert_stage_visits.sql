INSERT INTO stage_visits (tenant_id, lead_id, seq, stage, entered_at, exited_at)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::text[], $5::timestamptz[],
  $6::timestamptz[])
