-- Why leads leave the main line (issue 17, "Reasons"): every exit transition (to rejected,
-- recycled, disqualified or lost) carries its reason code and words, the rep the fact names
-- (or, when it names none, the rep who owned the lead just before), the team that owned
-- it, and the furthest main-line stage the lead had reached. The fold derives them from the
-- timeline (`leadledger_domain::reason`), so a replay gives the same rows.
--
-- Online: the columns are nullable (no table rewrite); NULL on every transition that is no
-- exit. The backfill below fills what the stored events and transitions say exactly: the
-- code (the rejection's own; `unspecified` for recycles, disqualifications and losses
-- recorded before they had codes), the words, the rep the fact names, and the furthest
-- stage reached (`tests/tests/reasons.rs` holds it to the fold's rows). Who
-- owned a lead when it left is not in any one row: `exit_team`, and `exit_rep` of exits
-- whose fact names no rep, stay NULL on exits projected before this migration until the
-- lead's next event re-derives its rows, or `leadledger rebuild` re-projects everything
-- (docs/OPERATIONS.md, "Upgrades").
ALTER TABLE stage_transitions
    ADD COLUMN reason_code   text,
    ADD COLUMN reason_text   text,
    ADD COLUMN exit_rep      text,
    ADD COLUMN exit_team     text,
    ADD COLUMN reached_stage text;

UPDATE stage_transitions t
SET reason_code = coalesce(
        (CASE t.to_stage
           WHEN 'rejected' THEN ARRAY['unspecified', 'no_budget', 'no_need', 'wrong_contact',
                                      'unreachable', 'too_early', 'not_icp', 'duplicate', 'other']
           WHEN 'recycled' THEN ARRAY['unspecified', 'rejected_to_nurture', 'stale',
                                      'customer_paused', 'owner_left', 'no_response', 'other']
           WHEN 'disqualified' THEN ARRAY['unspecified', 'invalid_contact', 'not_a_buyer',
                                          'competitor', 'duplicate', 'out_of_scope', 'spam',
                                          'other']
           ELSE ARRAY['unspecified', 'price', 'competitor', 'no_decision', 'budget',
                      'product_fit', 'in_house', 'champion_left', 'other']
         END)[coalesce(p.code, 0) + 1],
        'other'),
    reason_text = coalesce(p.words, ''),
    exit_rep = nullif(p.rep_id, ''),
    reached_stage = (SELECT b.to_stage FROM stage_transitions b
                     WHERE b.tenant_id = t.tenant_id AND b.lead_id = t.lead_id AND b.seq < t.seq
                       AND b.to_stage IN ('captured', 'mql', 'sql', 'poc', 'signed')
                     ORDER BY array_position(ARRAY['captured', 'mql', 'sql', 'poc', 'signed'],
                                             b.to_stage) DESC
                     LIMIT 1)
FROM (SELECT e.event_id, e.tenant_id,
             -- A rejection's code is its `reason` and its words `text`; the other exits have
             -- words in `reason` and (events appended since the codes) a `code`.
             CASE WHEN x.body ? 'text' THEN (x.body ->> 'reason')::int
                  ELSE (x.body ->> 'code')::int END AS code,
             CASE WHEN x.body ? 'text' THEN x.body ->> 'text'
                  ELSE x.body ->> 'reason' END AS words,
             x.body ->> 'rep_id' AS rep_id
      FROM lead_events e,
      LATERAL (SELECT coalesce(e.body -> 'payload' -> 'SalesRejected',
                               e.body -> 'payload' -> 'Recycled',
                               e.body -> 'payload' -> 'Disqualified',
                               e.body -> 'payload' -> 'Lost') AS body) x
      WHERE x.body IS NOT NULL) p
WHERE t.kind = 'exit' AND p.event_id = t.event_id AND p.tenant_id = t.tenant_id;

-- BI view: one row per exit with its reason and the lead's dimensions, the rows `Reasons`
-- counts (docs/ANALYTICS.md, "Reasons"). Runs with its caller's rights, like every
-- documented view (0010): a BI role sees only its tenants once `leadledger bi grant` is run
-- for it again.
CREATE VIEW lead_exits AS
SELECT t.tenant_id, t.lead_id, t.to_stage AS exit_kind, t.at AS exited_at, t.from_stage,
       t.reason_code, t.reason_text, t.exit_rep AS rep_id, t.exit_team AS team, t.reached_stage,
       to_char(t.at AT TIME ZONE 'UTC', 'YYYY-MM') AS exit_month,
       to_char(t.at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS exit_week,
       l.channel, l.campaign, l.region, l.industry, l.segment,
       to_char(l.captured_at AT TIME ZONE 'UTC', 'YYYY-MM') AS capture_month,
       l.captured_at, t.event_id
FROM stage_transitions t
JOIN leads l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
WHERE t.kind = 'exit';
ALTER VIEW lead_exits SET (security_invoker = true);
