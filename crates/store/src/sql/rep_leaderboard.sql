-- Rep leaderboard at $2 (as_of) for tenant $1; follow-up clocks of policy $3; revenue in $4.
-- A clock counts when it ended by as_of (met / met_late / stopped after its due time) or is
-- still running past its due time at as_of (breached); it is "met" only when it ended in time
-- by as_of. A clock paused by as_of (before its due time) is not counted, like an open one.
WITH owned AS (
    SELECT lead_id, owner_rep_id AS rep_id, owner_team AS team, max_rank,
           signed_amount_minor, signed_currency, feedback_required, feedback_filled
    FROM leads
    WHERE tenant_id = $1 AND owner_rep_id <> '' AND captured_at <= $2
),
clocks AS (
    SELECT o.rep_id,
           CASE WHEN c.ended_at IS NOT NULL AND c.ended_at <= $2 THEN c.status
                WHEN c.status = 'paused' AND c.paused_at <= $2 THEN 'paused'
                WHEN $2 <@ ANY (c.pauses) THEN 'paused'
                WHEN $2 > c.due_at THEN 'breached'
                ELSE 'open' END AS state,
           CASE WHEN c.ended_at IS NOT NULL AND c.ended_at <= $2 AND c.status IN ('met', 'met_late')
                THEN extract(epoch FROM c.ended_at - c.started_at) / 3600.0 END AS hours,
           c.breached_at
    FROM sla_clocks c JOIN owned o ON o.lead_id = c.lead_id
    WHERE c.tenant_id = $1 AND c.policy_id = $3 AND c.started_at <= $2
),
clock_stats AS (
    SELECT rep_id,
           count(*) FILTER (WHERE state IN ('met', 'met_late', 'breached')
                            OR (state = 'stopped' AND breached_at IS NOT NULL)) AS clocks,
           count(*) FILTER (WHERE state = 'met') AS met,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median_hours
    FROM clocks GROUP BY rep_id
)
SELECT o.rep_id,
       min(o.team) AS team,
       count(*) AS leads,
       count(*) FILTER (WHERE o.max_rank >= 3) AS sqls,
       count(*) FILTER (WHERE o.max_rank >= 5) AS signed,
       coalesce(sum(o.signed_amount_minor) FILTER (WHERE o.max_rank >= 5 AND o.signed_currency = $4), 0)::int8
           AS revenue_minor,
       coalesce(max(s.clocks), 0) AS clocks,
       coalesce(max(s.met), 0) AS met,
       max(s.median_hours) AS median_hours,
       CASE WHEN sum(o.feedback_required) > 0
            THEN sum(o.feedback_filled)::float8 / sum(o.feedback_required) END AS feedback
FROM owned o LEFT JOIN clock_stats s ON s.rep_id = o.rep_id
GROUP BY o.rep_id
ORDER BY revenue_minor DESC,
         coalesce(max(s.met)::float8 / nullif(max(s.clocks), 0), 0) DESC,
         o.rep_id
