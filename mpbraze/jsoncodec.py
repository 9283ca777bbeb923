"""JSON at the database boundary, with orjson: the stored batches read back for mapping, and
the objects written to and read from the outbox (decoding a batch took about a tenth of the
mapping task's CPU with the standard library, docs/performance.md).

Same values in and out as the standard library's ``json``: where orjson refuses what ``json``
accepts (a key that is not a string, a number past a double) or reads it otherwise (an
integer beyond 64 bits, which orjson reads as a float), the standard library does it.
Nothing here is shown to anyone or hashed: the text may differ (orjson writes compact UTF-8),
the values may not. One difference is left: orjson writes NaN and the infinities as
``null``, where ``json`` writes tokens PostgreSQL refuses; no stored value holds one (the
inbound API refuses them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

# Every ASCII digit as "0", every other byte as a space: a run of 19 zeros is a number of 19
# digits or more, the shortest an integer past 64 bits can be, which orjson reads as a float
# (losing digits) where ``json`` keeps the integer. Such text is left to ``json``.
_DIGITS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_NUMBER = b"0" * 19


def loads(text: str | bytes) -> Any:
    """The value of JSON ``text``, as ``json.loads`` reads it."""
    data = text.encode() if isinstance(text, str) else text
    if _LONG_NUMBER in data.translate(_DIGITS):
        return json.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # e.g. 1e400, which json reads as infinity
        return json.loads(data)


def dumps(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """``value`` as JSON; ``default`` turns what JSON has no type for into what it has (orjson
    writes datetimes itself, as ``isoformat`` does)."""
    try:
        return orjson.dumps(value, default=default)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, separators=(",", ":"), default=default).encode()
