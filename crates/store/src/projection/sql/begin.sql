-- A projection transaction's start, in one round trip: no WAL flush at commit (why: at its use)
-- and the merge-membership lock, shared (sql/identity_lock_shared.sql says why; a batch that
-- decides merges takes it alone later, sql/identity_lock.sql).
SET LOCAL synchronous_commit = off;
SELECT pg_advisory_xact_lock_shared(7812317745318420052);
