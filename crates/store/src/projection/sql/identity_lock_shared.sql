-- Every projection transaction that reads merge groups holds this lock shared; one that decides
-- merges holds it alone (sql/identity_lock.sql). So no batch folds a group from a membership
-- that a concurrent decision is changing (docs/IDENTITY.md, "Concurrency").
SELECT pg_advisory_xact_lock_shared(7812317745318420052)
