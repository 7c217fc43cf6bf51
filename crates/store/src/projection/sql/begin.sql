-- A projection transaction's start, in one round trip: no WAL flush at commit (why: at its use)
-- and the membership lock, shared (sql/identity_lock.sql says why; a batch that decides merges
-- or visitors' links takes it alone instead, sql/begin_alone.sql).
SET LOCAL synchronous_commit = off;
SELECT pg_advisory_xact_lock_shared(7812317745318420052);
