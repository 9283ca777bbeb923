"""Cursor pagination: every list is bounded, and a cursor stays valid while rows are added
(it names the last row seen, not an offset)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from connections.api.errors import ApiError
from connections.rules.ids import is_id

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

M = TypeVar("M", bound=Model)


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"pk:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "pk" or not is_id(value):
            raise ValueError(text)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(
            422, "invalid", "cursor: not a cursor this API gave; pass next_cursor as is.", "cursor"
        ) from None


def page(
    rows: QuerySet[M],
    *,
    cursor: str | None,
    limit: int,
    render: Callable[[M], Any],
    newest_first: bool = True,
) -> dict[str, Any]:
    """One page of ``rows`` ordered by id, and the cursor of the next page (or None)."""
    if newest_first:
        rows = rows.order_by("-pk")
        if cursor:
            rows = rows.filter(pk__lt=decode_cursor(cursor))
    else:
        rows = rows.order_by("pk")
        if cursor:
            rows = rows.filter(pk__gt=decode_cursor(cursor))
    found = list(rows[: limit + 1])
    more = len(found) > limit
    found = found[:limit]
    return {
        "items": [render(row) for row in found],
        "next_cursor": encode_cursor(found[-1].pk) if more and found else None,
    }
