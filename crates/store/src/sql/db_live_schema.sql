-- The schema the read models live in, as this connection's search_path resolves them (the
-- schema of `projector_checkpoints`): the one `leadledger rebuild` replaces.
SELECT n.nspname::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = 'projector_checkpoints'::regclass
