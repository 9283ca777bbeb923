"""Size limits and backpressure of the inbound API, read from settings with mParticle's defaults.

``MPBRAZE_INBOUND_MAX_REQUEST_BYTES`` (256 KB) caps a request body,
``MPBRAZE_INBOUND_MAX_BATCH_BYTES`` (128 KB) each batch in it, and
``MPBRAZE_INBOUND_MAX_PENDING_BATCHES`` (100,000) the batches waiting to be mapped before new
ones get 429.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from django.conf import settings
from django.db.models import QuerySet, Subquery
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


class PendingSpan(NamedTuple):
    """The lowest and highest id of a connection's batches waiting to be mapped (None: none)."""

    low: int | None
    high: int | None


def connection_by_inbound_key(key: str) -> tuple[Connection, PendingSpan] | None:
    """The connection whose inbound key is ``key``, with the span of its waiting batches, in
    one round trip: every inbound request needs both, and two statements (the span's with its
    subqueries compiled by the ORM each time) cost a fifth of a request's CPU."""
    batches = InboundBatch._meta.db_table
    # Two LIMIT 1 probes of ``batch_pending_ids`` (MIN/MAX would scan the backlog). Table
    # names come from the models; every value is a parameter.
    probe = (
        f"SELECT b.id FROM {batches} b WHERE b.connection_id = c.id"  # noqa: S608
        " AND b.status IN (%s, %s) ORDER BY b.id {} LIMIT 1"
    )
    sql = (
        f"SELECT c.*, ({probe.format('ASC')}) AS pending_low,"  # noqa: S608
        f" ({probe.format('DESC')}) AS pending_high"
        f" FROM {Connection._meta.db_table} c WHERE c.inbound_key = %s"
    )
    waiting = [InboundBatch.Status.RECEIVED, InboundBatch.Status.WAITING]
    found = next(iter(Connection.objects.raw(sql, [*waiting, *waiting, key])), None)
    if found is None:
        return None
    extra = vars(found)  # the raw query's extra columns, taken off the instance
    return found, PendingSpan(extra.pop("pending_low"), extra.pop("pending_high"))


def pending_span(connection: Connection) -> PendingSpan:
    """The span of ``connection``'s waiting batches, for callers that hold the connection
    already (the Web SDK's uploads, found by their web key)."""
    ids = _waiting(connection).values("pk")
    low, high = (  # two LIMIT 1 probes in one round trip (MIN/MAX would scan the backlog)
        Connection.objects.filter(pk=connection.pk)
        .order_by()
        .annotate(low=Subquery(ids.order_by("pk")[:1]), high=Subquery(ids.order_by("-pk")[:1]))
        .values_list("low", "high")
        .get()
    )
    return PendingSpan(low, high)


def ensure_queue_has_room(connection: Connection, span: PendingSpan | None = None) -> None:
    """429 while more of this connection's batches than the limit wait to be mapped (its
    workers behind, or no Server output yet); other connections are not affected.

    ``span``, when the caller read it with the connection, saves the query."""
    limit = max_pending_batches()
    # The pending batches lie between the lowest and highest pending id: when that span is
    # under the limit (the usual case) two index probes prove there is room. Otherwise
    # OFFSET limit LIMIT 1 counts, stopping at the limit instead of counting the backlog.
    low, high = span or pending_span(connection)
    if low is None or high is None or high - low < limit:
        return
    if _waiting(connection)[limit : limit + 1].exists():
        raise retry_later(
            429,
            "TOO_MANY_REQUESTS",
            f"More than {limit} batches of this connection are waiting to be processed;"
            " retry later.",
            seconds=BACKPRESSURE_RETRY_AFTER_SECONDS,
        )


def _waiting(connection: Connection) -> QuerySet[InboundBatch]:
    return InboundBatch.objects.filter(
        connection=connection,
        status__in=(InboundBatch.Status.RECEIVED, InboundBatch.Status.WAITING),
    ).order_by()


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
