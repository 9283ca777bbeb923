"""Storing accepted batches: all of a request in one transaction, through the intake service."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DataError

from connections.delivery.intake import batches_receive
from connections.inbound.errors import Refusal, bad_request
from connections.metrics.definitions import record_ingest
from connections.models import Connection

logger = logging.getLogger(__name__)


def batches_store(
    *,
    connection: Connection,
    batches: list[dict[str, Any]],
    historical: bool,
    forward: bool = True,
) -> int:
    """Store every batch or none; returns how many were new (repeats are accepted, not stored).

    Returns only after the commit, so a 202 always means the rows exist. Other database
    errors propagate: the view answers 503 and the client resends.
    """
    try:
        results = batches_receive(
            connection=connection, payloads=batches, historical=historical, forward=forward
        )
    except DataError:
        # The database refused a value the checks let through: resending would not help.
        logger.exception("Inbound batch refused by the database (connection %s)", connection.pk)
        raise _unstorable() from None
    stored = [batch.payload for batch, created in results if created]
    events = sum(len(p["events"]) for p in stored if isinstance(p.get("events"), list))
    record_ingest(connection_id=connection.pk, batches=len(stored), events=events)
    return len(stored)


def _unstorable() -> Refusal:
    return bad_request("The database refused a value in this request; nothing was stored.")
