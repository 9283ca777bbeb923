"""Reading live events: pages of rows newest first, polls for newer rows, one row in full.

Every request reads at most ``SCAN_BATCHES`` batches: a filter no index serves (event name,
fate, platform) scans that many and answers with what it found and a cursor to search on, so
each request answers in bounded time however many events are stored. The user filter reads
one user's batches through the identity expression indexes of ``InboundBatch``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from django.db import connections as databases
from django.db.models import Q, QuerySet, Value
from django.db.models.fields.json import KT
from django.db.models.lookups import Exact
from django.utils import timezone

from connections.delivery.models import Delivery, DeliveryAttempt, InboundBatch
from connections.live.fates import Fate, FateInWords, event_fate
from connections.live.filters import LiveFilters
from connections.live.positions import ATTRIBUTES_SLOT, MAX_SLOT, WHOLE_BATCH, Position
from connections.live.reasons import MappedAgain, batch_map_again, server_mapping_context
from connections.live.rows import Slot, batch_slots
from connections.models import Connection, Platform
from mapping.objects import MappingContext

SCAN_BATCHES: Final = 200
MAX_LIMIT: Final = 200
# The identities the expression indexes cover (the payload's keys as stored: the SDKs'
# ``customerid`` is stored as ``customer_id``).
INDEXED_IDENTITIES: Final = {
    "mpid": "payload__mpid",
    "customer_id": "payload__user_identities__customer_id",
    "email": "payload__user_identities__email",
}
LINKS = DeliveryAttempt.deliveries.through


@dataclass
class LiveEvent:
    slot: Slot
    batch: InboundBatch
    deliveries: list[Delivery]
    fate: FateInWords

    @property
    def position(self) -> Position:
        return self.slot.position


@dataclass
class LivePage:
    events: list[LiveEvent]
    next_cursor: Position | None = None  # older rows: pass as the next request's cursor
    newest: Position | None = None  # poll from here: rows newer than it
    searched_back_to: datetime | None = None  # the scan's bound stopped it here
    more_newer: bool = False  # a poll that found more than its limit


@dataclass
class _Reader:
    """What one request reads once: the identity type, the mapping context, batches mapped
    again, the attempt that last carried each sent row."""

    connection: Connection
    external_identity: str = "customer_id"
    with_bodies: bool = False  # the objects as sent, for pages that show them
    context: MappingContext | None = None
    context_read: bool = False
    mapped_again: dict[int, MappedAgain] = field(default_factory=dict)

    def why_nothing(self, event: LiveEvent) -> str:
        if not self.context_read:
            self.context, self.context_read = server_mapping_context(self.connection), True
        batch = event.batch
        if batch.pk not in self.mapped_again:
            self.mapped_again[batch.pk] = batch_map_again(batch, self.context)
        return self.mapped_again[batch.pk].why_nothing(event.position.event_index)


def live_events_page(
    *,
    connection: Connection,
    filters: LiveFilters,
    before: Position | None = None,
    after: Position | None = None,
    limit: int = 50,
    now: datetime | None = None,
    with_bodies: bool = False,
) -> LivePage:
    """Rows newest first: older than ``before``, or (a poll) newer than ``after``."""
    reader = _reader(connection)
    reader.with_bodies = with_bodies
    since = filters.since(now or timezone.now())
    query = _batches(connection, filters, reader, since, before, after)
    scanned = list(query[: SCAN_BATCHES + 1])
    scan_cut = len(scanned) > SCAN_BATCHES
    scanned = scanned[:SCAN_BATCHES]
    batches = [b for b in scanned if b.received_at >= since]
    limit = min(limit, MAX_LIMIT)
    if after is not None:
        page = _poll(reader, batches, filters, after, limit)
        if scanned and not page.more_newer:  # the next poll starts past what was read
            page.newest = Position(scanned[-1].pk, MAX_SLOT)
            page.more_newer = scan_cut
    else:
        page = _older(reader, batches, filters, before, limit)
        page.newest = _newest(connection, scanned) if before is None else None
        if page.next_cursor is None and scan_cut and len(batches) == len(scanned):
            page.next_cursor = Position(scanned[-1].pk, WHOLE_BATCH)
            page.searched_back_to = scanned[-1].received_at
    _explain_fates(reader, page.events)
    return page


def live_event_get(*, connection: Connection, position: Position) -> LiveEvent | None:
    """One row of the connection, or None (unknown, or another connection's)."""
    reader = _reader(connection)
    batch = InboundBatch.objects.filter(connection=connection, pk=position.batch_id).first()
    if batch is None:
        return None
    events = _events(reader, [batch], with_bodies=True)
    found = [e for e in events if e.position == position]
    _explain_fates(reader, found)
    return found[0] if found else None


def live_events_refresh(
    *, connection: Connection, positions: Iterable[Position]
) -> list[LiveEvent]:
    """The current fate of rows a page shows (a poll updates those still on their way)."""
    wanted = set(positions)
    batch_ids = {p.batch_id for p in wanted}
    batches = InboundBatch.objects.filter(connection=connection, pk__in=batch_ids)
    reader = _reader(connection)
    found = [e for e in _events(reader, list(batches), with_bodies=True) if e.position in wanted]
    _explain_fates(reader, found)
    return found


def _reader(connection: Connection) -> _Reader:
    server = connection.outputs.filter(platform=Platform.SERVER).first()
    identity = server.external_identity_type if server else "customer_id"
    return _Reader(connection, external_identity=identity)


def _batches(
    connection: Connection,
    filters: LiveFilters,
    reader: _Reader,
    since: datetime,
    before: Position | None,
    after: Position | None,
) -> QuerySet[InboundBatch]:
    rows = InboundBatch.objects.filter(connection=connection)
    if filters.user:
        rows = rows.filter(_user_q(filters.user, reader.external_identity), received_at__gte=since)
    if before is not None:  # a cursor past a batch's last row starts at the next batch
        last_row = before.slot <= ATTRIBUTES_SLOT
        rows = (
            rows.filter(pk__lt=before.batch_id)
            if last_row
            else rows.filter(pk__lte=before.batch_id)
        )
    if after is not None:
        whole = after.slot >= MAX_SLOT
        rows = rows.filter(pk__gt=after.batch_id) if whole else rows.filter(pk__gte=after.batch_id)
    return rows.order_by("pk" if after is not None else "-pk")


def _user_q(user: str, external_identity: str) -> Q:
    """One user's batches: by MPID, customer_id or email (the expression indexes), and by the
    output's external identity when it is another one (then read without an index)."""
    paths = dict(INDEXED_IDENTITIES)
    if external_identity not in paths:
        paths[external_identity] = f"payload__user_identities__{external_identity}"
    query = Q()
    for path in paths.values():
        query |= Q(Exact(KT(path), Value(user)))
    if user.isdigit() and len(user) <= 19 and databases["default"].vendor == "sqlite":
        query |= Q(Exact(KT("payload__mpid"), Value(int(user))))  # SQLite reads JSON numbers
    return query


def _older(
    reader: _Reader,
    batches: list[InboundBatch],
    filters: LiveFilters,
    before: Position | None,
    limit: int,
) -> LivePage:
    found = _matching(
        _events(reader, batches), filters, limit, lambda p: bool(before and p >= before)
    )
    page = LivePage(found[:limit])
    if len(found) > limit:
        page.next_cursor = found[limit - 1].position
    return page


def _poll(
    reader: _Reader, batches: list[InboundBatch], filters: LiveFilters, after: Position, limit: int
) -> LivePage:
    events = _events(reader, batches, ascending=True)
    found = _matching(events, filters, limit, lambda p: p <= after)
    shown = found[:limit]
    newest = shown[-1].position if shown else after
    return LivePage(shown[::-1], newest=newest, more_newer=len(found) > limit)


def _matching(
    events: list[LiveEvent], filters: LiveFilters, limit: int, seen: Callable[[Position], bool]
) -> list[LiveEvent]:
    """Up to ``limit + 1`` events that pass the filters (one more tells there are more)."""
    found: list[LiveEvent] = []
    for event in events:
        if not seen(event.position) and _matches(event, filters):
            found.append(event)
            if len(found) > limit:
                break
    return found


def live_events_newest(*, connection: Connection) -> Position:
    """Where a poll that has seen nothing yet starts: past the connection's newest batch."""
    return _newest(connection, [])


def _newest(connection: Connection, scanned: list[InboundBatch]) -> Position:
    """Where a poll starts: past the newest batch read, else the connection's newest."""
    if scanned:
        return Position(scanned[0].pk, MAX_SLOT)
    newest = InboundBatch.objects.filter(connection=connection).order_by("-pk")
    return Position(next(iter(newest.values_list("pk", flat=True)[:1]), 0), MAX_SLOT)


def _matches(event: LiveEvent, filters: LiveFilters) -> bool:
    slot = event.slot
    if filters.fate is not None and event.fate.fate is not filters.fate:
        return False
    if filters.platform and slot.platform.casefold() != filters.platform.casefold():
        return False
    return not filters.event_name or filters.event_name.casefold() in slot.event_name.casefold()


def _events(
    reader: _Reader,
    batches: list[InboundBatch],
    *,
    ascending: bool = False,
    with_bodies: bool = False,
) -> list[LiveEvent]:
    rows = _deliveries(batches, with_bodies=with_bodies or reader.with_bodies)
    requests = _last_requests([r for found in rows.values() for r in found])
    events = []
    for batch in batches:
        attributes = bool(rows.get((batch.pk, None)))
        slots = batch_slots(
            batch, external_identity=reader.external_identity, attributes=attributes
        )
        for slot in reversed(slots) if ascending else slots:
            found = rows.get((batch.pk, slot.position.event_index), [])
            fate = event_fate(batch.status, batch.error, found, requests=requests)
            events.append(LiveEvent(slot, batch, found, fate))
    return events


def _deliveries(
    batches: list[InboundBatch], *, with_bodies: bool
) -> dict[tuple[int, int | None], list[Delivery]]:
    rows = Delivery.objects.filter(batch_id__in=[b.pk for b in batches]).order_by("sequence")
    by_slot: dict[tuple[int, int | None], list[Delivery]] = defaultdict(list)
    for row in rows if with_bodies else rows.defer("body"):
        for shown in row.object_views():  # a row holds a user's objects of the batch
            by_slot[(shown.batch_id, shown.event_index)].append(shown)
    return by_slot


def _last_requests(rows: list[Delivery]) -> dict[int, int]:
    sent = [row.pk for row in rows if row.status == Delivery.Status.SENT]
    links = LINKS.objects.filter(delivery_id__in=sent).values_list(
        "delivery_id", "deliveryattempt_id"
    )
    last: dict[int, int] = {}
    for delivery_id, attempt_id in links:
        last[delivery_id] = max(attempt_id, last.get(delivery_id, 0))
    return last


def _explain_fates(reader: _Reader, events: list[LiveEvent]) -> None:
    """Say why for the rows shown that were mapped into nothing (the engine runs for them
    only, never for the rows a scan passed over)."""
    for event in events:
        mapped = event.batch.status == InboundBatch.Status.MAPPED
        if mapped and event.fate.fate is Fate.NOT_FORWARDED and not event.deliveries:
            event.fate = FateInWords(Fate.NOT_FORWARDED, reader.why_nothing(event))
