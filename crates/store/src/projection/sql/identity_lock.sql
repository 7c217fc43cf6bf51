-- The membership lock, alone: held by a projection transaction that decides merges or
-- visitors' links, from its start (sql/begin_alone.sql). Every other projection transaction
-- holds it shared from its start (sql/begin.sql) and reads the group membership under it, so
-- no batch folds a group from a membership a concurrent decision is changing
-- (docs/IDENTITY.md, "Concurrency"). Taken here only by a transaction begun shared that meets
-- a decision it was not told of (an upgrade, which two such transactions could deadlock on).
SELECT pg_advisory_xact_lock(7812317745318420052)
