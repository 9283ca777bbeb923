"""The mParticle-compatible endpoints. Thin: auth, limits, parsing and storage live beside."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from connections.inbound import auth, limits, parsing
from connections.inbound.errors import Refusal, method_not_allowed
from connections.inbound.storage import batches_store

logger = logging.getLogger(__name__)
Parser = Callable[..., list[dict[str, Any]]]


@csrf_exempt  # server-to-server clients send Basic auth, never a CSRF token
@transaction.non_atomic_requests  # the 202 must follow our own commit, not a request-wide one
def events(request: HttpRequest) -> HttpResponse:
    """``POST /v2/events``: one batch object."""
    return _ingest(request, parsing.parse_events, historical=False)


@csrf_exempt
@transaction.non_atomic_requests
def bulkevents(request: HttpRequest) -> HttpResponse:
    """``POST /v2/bulkevents``: an array of up to 100 batches, stored all or none."""
    return _ingest(request, parsing.parse_bulk, historical=False)


@csrf_exempt
@transaction.non_atomic_requests
def bulkevents_historical(request: HttpRequest) -> HttpResponse:
    """``POST /v2/bulkevents/historical``: as bulk, stored with ``historical=True``."""
    return _ingest(request, parsing.parse_bulk, historical=True)


def _ingest(request: HttpRequest, parse: Parser, *, historical: bool) -> HttpResponse:
    if request.method != "POST":
        return method_not_allowed(request.method or "")
    try:
        connection, pending = auth.authenticate(request)
        auth.ensure_ingest_enabled(connection)
        limits.ensure_queue_has_room(connection, pending)
        batches = parse(limits.read_body(request), max_batch_bytes=limits.max_batch_bytes())
        batches_store(connection=connection, batches=batches, historical=historical)
    except Refusal as refusal:
        logger.info("Inbound %s refused: %s %s", request.path, refusal.status, refusal.code)
        return refusal.response()
    except DatabaseError:
        logger.warning("Inbound %s: database unavailable", request.path, exc_info=True)
        return limits.database_unavailable().response()
    return HttpResponse(status=202)
