-- $20: each clock's ended pauses as the text of a tstzrange[] ('{"[from,to)",…}'), NULL when
-- it has none (an array of arrays cannot be unnested row by row).
INSERT INTO sla_clocks (tenant_id, lead_id, policy_id, start_event_id, policy_version,
  started_at, at_risk_at, due_at, status, ended_at, end_event_id, end_recorded_at,
  stop_reason, breached_at, at_risk_event_id, breach_event_id, at_risk_alerted, breach_alerted,
  paused_at, pauses, escalation_step, escalation_at)
SELECT t, l, p, s, v, st, ar, du, status, en, ei, er, sr, br, ari, bri, ara, bra, pa,
  ps::tstzrange[], es, ea
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::uuid[], $5::int4[],
  $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::text[],
  $10::timestamptz[], $11::uuid[], $12::timestamptz[], $13::text[],
  $14::timestamptz[], $15::uuid[], $16::uuid[], $17::bool[], $18::bool[],
  $19::timestamptz[], $20::text[], $21::text[], $22::timestamptz[])
  AS u(t, l, p, s, v, st, ar, du, status, en, ei, er, sr, br, ari, bri, ara, bra, pa, ps, es,
    ea)
