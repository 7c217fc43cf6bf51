SELECT count(*) FROM attribution_dirty
