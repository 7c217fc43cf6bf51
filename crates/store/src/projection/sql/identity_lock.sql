-- Taken alone by a projection transaction that decides merges. Every projection transaction
-- holds it shared from its start (sql/begin.sql) and reads the merge membership under it, so no
-- batch folds a group from a membership a concurrent decision is changing (docs/IDENTITY.md,
-- "Concurrency"). The decider holds it shared too: this upgrades it, waiting for every other
-- batch to end; the decisions all come from one partition (`~identity`), one batch at a time.
SELECT pg_advisory_xact_lock(7812317745318420052)
