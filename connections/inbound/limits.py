"""Size limits and backpressure of the inbound API, read from settings with mParticle's defaults.

``MPBRAZE_INBOUND_MAX_REQUEST_BYTES`` (256 KB) caps a request body,
``MPBRAZE_INBOUND_MAX_BATCH_BYTES`` (128 KB) each batch in it, and
``MPBRAZE_INBOUND_MAX_PENDING_BATCHES`` (100,000) the batches waiting to be mapped before new
ones get 429.
"""

from __future__ import annotations

from typing import Final

from django.conf import settings
from django.db.models import Subquery
from django.http import HttpRequest, UnreadablePostError

from connections.delivery.models import InboundBatch
from connections.inbound.errors import Refusal, bad_request, payload_too_large, retry_later
from connections.models import Connection

# The SDK blocks its whole process for Retry-After seconds after a 429: keep the wait short.
BACKPRESSURE_RETRY_AFTER_SECONDS: Final = 30
DATABASE_RETRY_AFTER_SECONDS: Final = 10


def max_request_bytes() -> int:
    return int(settings.MPBRAZE_INBOUND_MAX_REQUEST_BYTES)


def max_batch_bytes() -> int:
    return int(settings.MPBRAZE_INBOUND_MAX_BATCH_BYTES)


def max_pending_batches() -> int:
    return int(settings.MPBRAZE_INBOUND_MAX_PENDING_BATCHES)


def ensure_queue_has_room(connection: Connection) -> None:
    """429 while more of this connection's batches than the limit wait to be mapped (its
    workers behind, or no Server output yet); other connections are not affected."""
    limit = max_pending_batches()
    waiting = InboundBatch.objects.filter(
        connection=connection,
        status__in=(InboundBatch.Status.RECEIVED, InboundBatch.Status.WAITING),
    ).order_by()
    # The pending batches lie between the lowest and highest pending id: when that span is
    # under the limit (the usual case) two index probes prove there is room. Otherwise
    # OFFSET limit LIMIT 1 counts, stopping at the limit instead of counting the backlog.
    ids = waiting.values("pk")
    low, high = (  # two LIMIT 1 probes in one round trip (MIN/MAX would scan the backlog)
        Connection.objects.filter(pk=connection.pk)
        .order_by()
        .annotate(low=Subquery(ids.order_by("pk")[:1]), high=Subquery(ids.order_by("-pk")[:1]))
        .values_list("low", "high")
        .get()
    )
    if low is None or high - low < limit:
        return
    if waiting[limit : limit + 1].exists():
        raise retry_later(
            429,
            "TOO_MANY_REQUESTS",
            f"More than {limit} batches of this connection are waiting to be processed;"
            " retry later.",
            seconds=BACKPRESSURE_RETRY_AFTER_SECONDS,
        )


def database_unavailable() -> Refusal:
    return retry_later(
        503,
        "SERVICE_UNAVAILABLE",
        "The database is unavailable: nothing was stored; retry later.",
        seconds=DATABASE_RETRY_AFTER_SECONDS,
    )


def read_body(request: HttpRequest) -> bytes:
    """The body, refused with 413 before reading when ``Content-Length`` is over the limit."""
    limit = max_request_bytes()
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise _request_too_large(declared, limit)
    try:
        body = request.read(limit + 1)
    except UnreadablePostError:
        raise bad_request("The request body could not be read completely.") from None
    if len(body) > limit:
        raise _request_too_large(None, limit)
    return body


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _request_too_large(size: int | None, limit: int) -> Refusal:
    actual = f"{size} bytes" if size is not None else "over the limit"
    return payload_too_large(
        f"The request body is {actual}; at most {limit} bytes are accepted per request. "
        "Send fewer batches per request."
    )
