"""Outbox rows that hold several objects of one user, split when Braze answers them apart.

Mapping writes one row per user and batch (``Delivery.more`` holds the objects after the
first), so a 10-event batch costs one row through the claim, the send and the mark, not eleven.
The objects of such a row travel in one request and share its fate. When they do not (Braze
rejects one of them, a request refused whole is bisected, a row is over a request's capacity,
a row fails for good), the row is split first into rows of one object each, in the state it
was in (same claim, attempts, due time and attempt links): what follows treats objects one by
one, and a failed row, which auditors replay or discard, always holds one object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction

from connections.delivery.models import Delivery, DeliveryAttempt, HeldObject
from connections.delivery.outcomes import RowsAt, unique_rows

LINKS = DeliveryAttempt.deliveries.through
# Copied from the row to each object's own row (the object's own fields come from ``more``).
SHARED_FIELDS = (
    "connection_id",
    "output_id",
    "batch_id",
    "user_key",
    "status",
    "attempts",
    "created_at",
    "next_attempt_at",
    "lease_until",
    "claim_token",
    "split_depth",
    "sent_at",
    "last_status_code",
    "error_class",
    "last_error",
)


Pieces = list[list[int]]  # a row's objects (positions in ``held_objects()``), in pieces


def split_rows(rows: Iterable[Delivery]) -> dict[int, list[Delivery]]:
    """Split every row of ``rows`` holding several objects into rows of one object: the row
    keeps its first object, new rows take the others. Returns, for each row given, its rows
    in the order of its objects (a row of one object maps to itself)."""
    rows = unique_rows(rows)
    return split_into({row.pk: (row, [[n] for n in range(row.size)]) for row in rows})


def split_into(pieces: Mapping[int, tuple[Delivery, Pieces]]) -> dict[int, list[Delivery]]:
    """Split each row into its pieces (each some of its objects in order, every object in one
    piece, the first piece holding the first object): the row keeps the first piece, a new
    row takes each other one. Returns, for each row, the rows of its pieces in order (a row
    in one piece maps to itself)."""
    parts: dict[int, list[Delivery]] = {pk: [row] for pk, (row, _) in pieces.items()}
    split = [pk for pk, (_row, runs) in pieces.items() if len(runs) > 1]
    if not split:
        return parts
    with transaction.atomic():
        full = {row.pk: row for row in Delivery.objects.select_for_update().filter(pk__in=split)}
        links: dict[int, list[int]] = {}
        for delivery_id, attempt_id in LINKS.objects.filter(delivery_id__in=split).values_list(
            "delivery_id", "deliveryattempt_id"
        ):
            links.setdefault(delivery_id, []).append(attempt_id)
        new_rows: list[tuple[int, Delivery]] = []
        for pk, row in full.items():
            held = row.held_objects()
            runs = pieces[pk][1]
            new_rows += [(pk, _piece_row(row, [held[n] for n in run])) for run in runs[1:]]
            row.more, row.size = _more([held[n] for n in runs[0]]), len(runs[0])
            Delivery.objects.filter(pk=pk).update(more=row.more, size=row.size)
        Delivery.objects.bulk_create([row for _pk, row in new_rows])
        _keep_created_at(new_rows, full)
        LINKS.objects.bulk_create(
            LINKS(deliveryattempt_id=attempt_id, delivery_id=row.pk)
            for pk, row in new_rows
            for attempt_id in links.get(pk, ())
        )
    for pk, new in new_rows:
        parts[pk].append(new)
    for pk, row in full.items():
        parts[pk][0].more, parts[pk][0].size = row.more, row.size
    return parts


def _more(held: list[HeldObject]) -> list[dict[str, Any]]:
    """What ``Delivery.more`` holds for a row of these objects: all but the first."""
    return [item._asdict() for item in held[1:]]


def _keep_created_at(new_rows: list[tuple[int, Delivery]], full: dict[int, Delivery]) -> None:
    """``bulk_create`` stamps ``created_at`` (auto_now_add) with now: the objects' rows keep
    their row's, which the retry window counts from (one statement per distinct time)."""
    by_time: dict[object, list[int]] = {}
    for pk, row in new_rows:
        row.created_at = full[pk].created_at
        by_time.setdefault(row.created_at, []).append(row.pk)
    for created_at, ids in by_time.items():
        Delivery.objects.filter(pk__in=ids).update(created_at=created_at)


def _piece_row(row: Delivery, held: list[HeldObject]) -> Delivery:
    first = held[0]
    piece = Delivery(
        sequence=first.sequence,
        kind=first.kind,
        event_index=first.event_index,
        event_name=first.event_name,
        body=first.body,
        more=_more(held),
        size=len(held),
    )
    for name in SHARED_FIELDS:
        setattr(piece, name, getattr(row, name))
    return piece


def split_whole(rows: Sequence[Delivery]) -> list[Delivery]:
    """``rows`` as rows of one object each, in order (split where needed)."""
    parts = split_rows(rows)
    return [part for row in unique_rows(rows) for part in parts[row.pk]]


def split_request(
    rows_at: RowsAt, named: set[tuple[str, int]], attempt: DeliveryAttempt | None = None
) -> RowsAt:
    """The request's (array, index) → row, with every row of several objects that holds a
    ``named`` position split, each of its positions naming its object's own row. A row's
    objects of one kind sit in the array in the row's order (``mapping.requests`` keeps
    order), which pairs positions with objects. The ``attempt``'s index map is rewritten to
    match (saved by the caller)."""
    hit = {rows_at[key].pk for key in named if key in rows_at}
    grouped = [row for row in unique_rows(rows_at.values()) if row.pk in hit and row.more]
    if not grouped:
        return rows_at
    parts = split_rows(grouped)
    split = dict(rows_at)
    for row in grouped:
        by_kind: dict[str, list[Delivery]] = {}
        for part in parts[row.pk]:
            by_kind.setdefault(part.kind, []).append(part)
        keys = sorted(key for key, held in rows_at.items() if held.pk == row.pk)
        for array in {array for array, _index in keys}:
            positions = [key for key in keys if key[0] == array]
            for key, part in zip(positions, by_kind.get(array, []), strict=False):
                split[key] = part
    if attempt is not None:
        attempt.index_map = index_map_of(split)
    return split


def index_map_of(rows_at: RowsAt) -> dict[str, list[int]]:
    """Array name → row id of each position, in the order sent."""
    index_map: dict[str, list[int]] = {}
    for (array, _index), row in sorted(rows_at.items(), key=lambda item: item[0]):
        index_map.setdefault(array, []).append(row.pk)
    return index_map
