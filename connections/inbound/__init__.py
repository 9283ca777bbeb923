"""The inbound mParticle-compatible Events API: ``/v2/events`` and ``/v2/bulkevents``.

Its contract for senders: docs/api.md "Inbound API".

``auth`` checks the connection's Basic credentials, ``limits`` the size and queue depth,
``parsing``/``checks`` turn a body into normalised batches (pure), ``storage`` stores them
through ``connections.delivery.intake``; ``views`` only wires those together.
"""
