DELETE FROM projector_checkpoints WHERE projection = $1
