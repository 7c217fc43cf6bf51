SELECT array_position(models, $1) FROM attribution_state
