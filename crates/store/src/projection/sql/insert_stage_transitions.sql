-- `skipped` travels as a comma-joined string: PostgreSQL arrays of arrays must be
-- rectangular. The exit columns are NULL on transitions that are no exit.
INSERT INTO stage_transitions
  (tenant_id, lead_id, seq, from_stage, to_stage, at, event_id, kind, skipped,
   reason_code, reason_text, exit_rep, exit_team, reached_stage)
SELECT t, l, n, f, s, a, e, k,
       CASE WHEN sk = '' THEN '{}'::text[] ELSE string_to_array(sk, ',') END,
       rc, rt, er, et, rs
FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[],
  $6::timestamptz[], $7::uuid[], $8::text[], $9::text[],
  $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
  AS r(t, l, n, f, s, a, e, k, sk, rc, rt, er, et, rs)
