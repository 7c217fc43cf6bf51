-- Candidate pairs from the `keys` above (IdentityService.ListDuplicateCandidates and the
-- auto-merge worker, docs/IDENTITY.md): two live leads sharing a key, with the rules they
-- share as a bit mask and its score ($3 masks → $4 scores, computed once in Rust by
-- `leadledger_domain::identity::matching::score`), best first.
--   $2: a key shared by more leads than this makes no pair (a role mailbox, a switchboard);
--   $5: with pairs split by an unmerge (left out unless true; see `scored`);
--   $6, $7, $10: after this (score, lead a, lead b) — NULL $6 for the first page;
--   $8: only pairs with this lead ('' for all); $9: at most this many.
shared AS (
    SELECT rule, array_agg(lead_id ORDER BY lead_id) AS leads
      FROM keys
     GROUP BY rule, k
    HAVING count(*) BETWEEN 2 AND $2
),
pairs AS (
    SELECT a, b, bit_or(s.rule) AS mask
      FROM shared s
     CROSS JOIN LATERAL unnest(s.leads) a
     CROSS JOIN LATERAL unnest(s.leads) b
     WHERE a < b AND ($8 = '' OR a = $8 OR b = $8)
     GROUP BY a, b
),
-- A pair is split when an unmerge split a lead of one's group (the lead and the leads merged
-- into it) from a lead of the other's.
scored AS (
    SELECT p.a, p.b, p.mask, w.score
      FROM pairs p
      JOIN unnest($3::int[], $4::float8[]) w(mask, score) ON w.mask = p.mask
     CROSS JOIN LATERAL (
           SELECT array_prepend(p.a, ARRAY(
                      SELECT g.lead_id FROM lead_merges g
                       WHERE g.tenant_id = $1 AND g.survivor_id = p.a
                         AND g.unmerge_intent IS NULL)),
                  array_prepend(p.b, ARRAY(
                      SELECT g.lead_id FROM lead_merges g
                       WHERE g.tenant_id = $1 AND g.survivor_id = p.b
                         AND g.unmerge_intent IS NULL))) grp(ga, gb)
     WHERE $5 OR NOT EXISTS (
           SELECT 1 FROM lead_merges m
            WHERE m.tenant_id = $1 AND m.unmerge_intent IS NOT NULL
              AND ((m.lead_id = ANY(grp.ga) AND m.survivor_id = ANY(grp.gb))
                OR (m.lead_id = ANY(grp.gb) AND m.survivor_id = ANY(grp.ga))))
)
SELECT a, b, mask, score
  FROM scored
 WHERE $6::float8 IS NULL OR score < $6 OR (score = $6 AND (a, b) > ($7::text, $10::text))
 ORDER BY score DESC, a, b
 LIMIT $9
