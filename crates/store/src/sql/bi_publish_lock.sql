-- One publisher of the BI contract at a time (until the transaction ends).
SELECT pg_advisory_xact_lock(7812317745318420041)
