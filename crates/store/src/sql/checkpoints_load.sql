SELECT partition, next_offset FROM projector_checkpoints
WHERE projection = $1 AND topic = $2
