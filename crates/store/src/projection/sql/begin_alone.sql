-- The start of a projection transaction that decides merges or visitors' links: as
-- sql/begin.sql, but the membership lock taken alone from the start (sql/identity_lock.sql
-- says why). Taking it shared first and upgrading later would deadlock two such batches of
-- different partitions (each waiting for the other's shared hold).
SET LOCAL synchronous_commit = off;
SELECT pg_advisory_xact_lock(7812317745318420052);
