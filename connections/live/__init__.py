"""Live events: every event a connection received, the Braze objects it became and what
happened to each, read from what is already stored (batches, outbox rows, attempts)."""
