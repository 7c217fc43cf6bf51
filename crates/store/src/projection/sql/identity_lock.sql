-- Taken alone by a projection transaction that decides merges (see identity_lock_shared.sql).
SELECT pg_advisory_xact_lock(7812317745318420052)
