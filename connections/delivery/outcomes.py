"""Reading Braze's answer against the rows of the request as sent (pure, no database)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from connections.delivery.models import Delivery

RowsAt = dict[tuple[str, int], Delivery]  # (array name, index as sent) → outbox row


def unique_rows(rows: Iterable[Delivery]) -> list[Delivery]:
    """Each row once, in the order first seen (a row of several objects fills several
    positions of a request)."""
    return list({row.pk: row for row in rows}.values())


def held_rows(rows_at: RowsAt) -> list[Delivery]:
    """The rows of a request, each once."""
    return unique_rows(rows_at.values())


def rows_at_of(index_map: Mapping[str, Sequence[int]], rows: Iterable[Delivery]) -> RowsAt:
    """Rebuild (array, index) → row from an attempt's stored index map."""
    by_pk = {row.pk: row for row in rows}
    return {
        (array, index): by_pk[pk]
        for array, ids in index_map.items()
        for index, pk in enumerate(ids)
        if pk in by_pk
    }


def partial_rejections(
    rows_at: RowsAt, errors: Iterable[Mapping[str, Any]]
) -> dict[str, list[Delivery]]:
    """Braze's ``errors[].index`` counts within the array as sent: the rows it names, grouped
    by Braze's error type. Errors naming nothing we sent are ignored."""
    by_message: dict[str, list[Delivery]] = {}
    seen: set[int] = set()
    for error in errors:
        row = rows_at.get((str(error.get("input_array")), _int(error.get("index"))))
        if row is not None and row.pk not in seen:
            seen.add(row.pk)
            by_message.setdefault(str(error.get("type") or "rejected by Braze"), []).append(row)
    return by_message


def error_positions(errors: Iterable[Mapping[str, Any]]) -> set[tuple[str, int]]:
    """The (array, index) positions Braze's ``errors[]`` name."""
    return {(str(error.get("input_array")), _int(error.get("index"))) for error in errors}


def is_configuration_problem(status: int | None) -> bool:
    """No answer we can act on per object (refused address, 404, redirect): the endpoint is
    wrong, not the objects; the connection is paused instead of its rows rejected."""
    return status is None or status == 404 or 300 <= status < 400


def _int(value: Any) -> int:  # a JSON value: int() refuses what it cannot read
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
