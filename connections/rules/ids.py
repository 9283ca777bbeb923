"""Database ids as they arrive in addresses, query strings and bodies.

Every key is a 64-bit signed integer on both databases (``BigAutoField``); a number outside
1 to 2^63-1 can never name a row. PostgreSQL answers such a lookup with nothing, but SQLite's
driver raises ``OverflowError`` before the query runs, so ids are bounded where they are parsed:
a URL that holds one does not match (404), a filter or body value is named as invalid.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

from connections.rules.field_errors import FieldError

MAX_ID: Final = 2**63 - 1

#: An id in an API path, query or body: out of range is a 422 naming the field.
DatabaseId = Annotated[int, Field(ge=1, le=MAX_ID)]


def parse_id(field: str, value: object) -> int:
    """``value`` as a key (a whole number 1 to 2^63-1, as text or int), else ``FieldError``."""
    text = str(value).strip()
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID))
    number = int(text) if digits else 0
    if not 1 <= number <= MAX_ID or isinstance(value, bool):
        shown = text[:40]
        raise FieldError(
            field, f"expected an id (a whole number from 1 to {MAX_ID}), got {shown!r}"
        )
    return number


def is_id(value: object) -> bool:
    try:
        parse_id("id", value)
    except FieldError:
        return False
    return True


class IdConverter:
    """``<id:pk>`` in a URL pattern: digits that fit a key, else the pattern does not match."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(f"{value} is beyond the largest id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)
