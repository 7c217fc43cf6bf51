-- The statement that drops schema $1 (a retired one) and everything in it.
SELECT format('DROP SCHEMA IF EXISTS %I CASCADE', $1::text)
