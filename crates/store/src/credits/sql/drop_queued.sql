DELETE FROM attribution_dirty WHERE id = ANY($1)
