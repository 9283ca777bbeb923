"""Braze `time` strings (ISO-8601, UTC, milliseconds) from mParticle millisecond timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from math import isfinite
from typing import Any, Final

from mapping.issues import IssueAction, IssueKind
from mapping.state import BatchState

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MAX_MILLIS: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last datetime Python has
TIMESTAMP_PATH: Final = "events[*].data.timestamp_unixtime_ms"
_MINUTES_KEPT: Final = 4096
_MINUTES: dict[int, str] = {}  # minute since epoch → "YYYY-MM-DDTHH:MM:"
# Padded-number formatting is the slowest step of a time string; look the digits up instead.
_TWO_DIGITS: Final = tuple(f"{n:02d}" for n in range(60))
_THREE_DIGITS: Final = tuple(f"{n:03d}" for n in range(1000))


def millis(value: object) -> int | None:
    """A usable epoch-milliseconds value, accepting numbers sent as strings."""
    if type(value) is int and 0 <= value <= MAX_MILLIS:
        return value
    if isinstance(value, float):
        value = int(value) if isfinite(value) else None
    elif isinstance(value, str):
        value = int(value) if _is_short_digits(value) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_MILLIS else None


def _is_short_digits(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 16


def iso_time(ms: int) -> str:
    """``2023-11-14T22:13:20.000Z``; the minute prefix is cached, events cluster in time."""
    minute, rest = divmod(ms, 60_000)
    prefix = _MINUTES.get(minute)
    if prefix is None:
        if len(_MINUTES) >= _MINUTES_KEPT:
            _MINUTES.clear()
        prefix = (EPOCH + timedelta(minutes=minute)).isoformat()[:17]
        _MINUTES[minute] = prefix
    seconds, millis_part = divmod(rest, 1000)
    return f"{prefix}{_TWO_DIGITS[seconds]}.{_THREE_DIGITS[millis_part]}Z"


def iso_now(now: datetime) -> str:
    moment = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def event_time(data: dict[str, Any], state: BatchState) -> str:
    """The event's time, else the batch's, else the mapping time (as mParticle's server does)."""
    raw = data.get("timestamp_unixtime_ms")
    ms = millis(raw)
    if ms is not None:
        return iso_time(ms)
    if raw is not None:
        state.issue(IssueKind.INVALID_VALUE, TIMESTAMP_PATH, raw, IssueAction.COERCED)
    if state.batch_time_ms is not None:
        return iso_time(state.batch_time_ms)
    state.issue(IssueKind.MISSING_TIMESTAMP, TIMESTAMP_PATH, None, IssueAction.COERCED)
    return iso_now(state.context.now)
