-- The statements that copy the tables $3 (in this order: what is not derived from the log,
-- such as API keys and BI grants) from schema $1 into the shadow $2, replacing what the
-- shadow's migrations put there. Returned, not run; identifiers quoted by the server.
SELECT stmt FROM unnest($3::text[]) WITH ORDINALITY AS t(name, i),
  LATERAL (VALUES
    (1, format('DELETE FROM %I.%I', $2::text, t.name)),
    (2, format('INSERT INTO %I.%I SELECT * FROM %I.%I', $2::text, t.name, $1::text, t.name))
  ) AS s(k, stmt)
ORDER BY t.i, s.k
