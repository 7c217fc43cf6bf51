-- The records of the reps $1, per (tenant, rep): median hours from MQL to first follow-up,
-- mean feedback completeness, share of leads that reached SQL, open leads.
SELECT tenant_id, owner_rep_id,
  percentile_cont(0.5) WITHIN GROUP
    (ORDER BY extract(epoch FROM first_follow_up_at - mql_at)::float8 / 3600)
    FILTER (WHERE first_follow_up_at >= mql_at),
  avg(feedback_filled::float8 / feedback_required) FILTER (WHERE feedback_required > 0),
  (count(*) FILTER (WHERE sql_at IS NOT NULL))::float8 / count(*),
  count(*) FILTER (WHERE stage IN ('mql', 'sql', 'poc'))
FROM leads WHERE owner_rep_id = ANY($1)
GROUP BY tenant_id, owner_rep_id
