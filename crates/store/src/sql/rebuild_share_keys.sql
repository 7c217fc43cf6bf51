-- The statements that make the shadow $2 read the contacts' data keys of the live schema $1
-- (ingest keeps making them there while the rebuild projects): the shadow's own empty table
-- gives way to a view of the live one. Returned, not run; identifiers quoted by the server.
SELECT stmt FROM (VALUES
  (1, format('DROP TABLE %I.contact_keys', $2::text)),
  (2, format('CREATE VIEW %I.contact_keys AS SELECT * FROM %I.contact_keys', $2::text, $1::text))
) s(n, stmt) ORDER BY n
