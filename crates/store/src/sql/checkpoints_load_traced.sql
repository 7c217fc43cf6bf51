-- Next offset per partition of projection $1 on topic $2, with the `traceparent` of the
-- batch that last moved it (NULL when traces are off).
SELECT partition, next_offset, batch_trace FROM projector_checkpoints
WHERE projection = $1 AND topic = $2
