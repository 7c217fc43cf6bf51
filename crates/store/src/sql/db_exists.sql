-- Whether the database named $1 exists.
SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)
