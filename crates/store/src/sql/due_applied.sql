-- Which of the event ids $1 the core projection has applied.
SELECT event_id FROM lead_events WHERE event_id = ANY($1)
