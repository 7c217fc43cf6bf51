-- The statement that locks every table of schema $1 against readers and writers for the
-- swap. `lead_events` first: a projection transaction writes it first, so one that already
-- started is waited for before any other lock is taken. The tables the row-level-security
-- policies read in every query (`rls_app_roles`, `bi_grants`) and `api_keys` last: a query
-- takes them after the table it reads. The swap's short lock timeout (below PostgreSQL's
-- deadlock timeout) makes it give way to any transaction it still meets, never the other way.
SELECT format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE',
              string_agg(format('%I.%I', n.nspname, c.relname),
                         ', ' ORDER BY c.relname <> 'lead_events',
                                      c.relname IN ('rls_app_roles', 'bi_grants', 'api_keys'),
                                      c.relname))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
