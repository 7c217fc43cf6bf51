-- Whether the database answers (health).
SELECT 1
