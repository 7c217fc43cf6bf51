-- The contract's views read the schema $1 (for the rest of the transaction).
SELECT set_config('search_path', quote_ident($1::text), true)
