-- The statements that move the live schema $1's data keys table into the shadow $2 at the
-- swap, in place of the view the rebuild read them through: keys are never copied, so none
-- made during the rebuild is lost. Returned, not run; identifiers quoted by the server.
SELECT stmt FROM (VALUES
  (1, format('DROP VIEW %I.contact_keys', $2::text)),
  (2, format('ALTER TABLE %I.contact_keys SET SCHEMA %I', $1::text, $2::text))
) s(n, stmt) ORDER BY n
