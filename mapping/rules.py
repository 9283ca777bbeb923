"""Braze type rules for event/purchase properties (reference braze_rest_api.md §5.3).

Each offending field is dropped (or truncated) and recorded; the rest of the object is kept.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from math import isfinite
from typing import Any, Final, TypeGuard

from mapping.detection import INT64_MAX, INT64_MIN, detect_type
from mapping.issues import IssueAction, IssueKind
from mapping.state import BatchState

MAX_KEY_LENGTH: Final = 255
MAX_STRING_LENGTH: Final = 255
RESERVED_PROPERTY_NAMES: Final = frozenset({"time", "event_name"})
DROP: Final[Any] = object()  # a cleaner's answer meaning "leave this field out"

_A = IssueAction
_K = IssueKind


def clean_key(key: object, state: BatchState, path: str, reserved: frozenset[str]) -> str | None:
    """The key Braze will accept (leading `$` stripped), or None after recording why not."""
    if type(key) is not str:
        state.issue(_K.INVALID_VALUE, path, key, _A.DROPPED_FIELD)
        return None
    name = key.lstrip("$")
    if not name or name.isspace():
        state.issue(_K.EMPTY_KEY, path, key, _A.DROPPED_FIELD)
    elif len(name) > MAX_KEY_LENGTH:
        state.issue(_K.KEY_TOO_LONG, path, key, _A.DROPPED_FIELD)
    elif name in reserved:
        state.issue(_K.RESERVED_PROPERTY_NAME, path, key, _A.DROPPED_FIELD)
    else:
        return name
    return None


def is_plain_key(key: object, reserved: frozenset[str]) -> TypeGuard[str]:
    """The common case, checked without building any path string."""
    return (
        type(key) is str
        and 0 < len(key) <= MAX_KEY_LENGTH
        and key[0] != "$"
        and key not in reserved
        and not key.isspace()
    )


# Property keys repeat across events; remembering the good ones makes the key check one lookup.
_PLAIN_PROPERTY_KEYS: set[str] = set()
_PLAIN_KEYS_KEPT: Final = 50_000


def clean_properties(
    raw: object, state: BatchState, prefix: str, detect: bool | None = None
) -> dict[str, Any]:
    """Event or purchase properties from an mParticle attribute map (the hot path)."""
    if type(raw) is not dict:
        if raw is not None:
            state.issue(_K.INVALID_VALUE, prefix, raw, _A.DROPPED_FIELD)
        return {}
    if detect is None:
        detect = state.plan.detect_event_values
    out: dict[str, Any] = {}
    plain = _PLAIN_PROPERTY_KEYS
    for key, value in raw.items():
        if key in plain:
            name = key
        else:
            name = _new_property_key(key, state, prefix)
            if name is None:
                continue
        # is_plain_scalar, inlined (this loop is the hot path): the rest takes the long way.
        kind = type(value)
        if kind is str:
            keep = not detect and len(value) <= MAX_STRING_LENGTH
        elif kind is float:
            keep = value - value == 0.0  # false for NaN and ±Infinity
        elif kind is int:
            keep = INT64_MIN <= value <= INT64_MAX
        else:
            keep = kind is bool
        if not keep:
            value = property_value(value, state, prefix, key, detect)
            if value is DROP:
                continue
        out[name] = value
    return out


def _new_property_key(key: object, state: BatchState, prefix: str) -> str | None:
    if is_plain_key(key, RESERVED_PROPERTY_NAMES):
        if len(_PLAIN_PROPERTY_KEYS) >= _PLAIN_KEYS_KEPT:
            _PLAIN_PROPERTY_KEYS.clear()
        _PLAIN_PROPERTY_KEYS.add(key)
        return key
    return clean_key(key, state, f"{prefix}.{key}", RESERVED_PROPERTY_NAMES)


def is_plain_scalar(value: object, detect: bool) -> bool:
    """A value that passes every rule untouched: the common case, tested cheaply."""
    # One type() call keeps this hot path cheap; mypy cannot narrow ``value`` through ``kind``,
    # hence the ignores below.
    kind = type(value)
    if kind is str:
        return not detect and len(value) <= MAX_STRING_LENGTH  # type: ignore[arg-type]
    if kind is float:
        return value - value == 0.0  # type: ignore[operator,no-any-return]  # false for NaN and ±Infinity
    if kind is int:
        return INT64_MIN <= value <= INT64_MAX  # type: ignore[operator]
    return kind is bool


def property_value(value: Any, state: BatchState, prefix: str, key: str, detect: bool) -> Any:
    """A scalar Braze accepts in properties, or DROP (recorded)."""
    kind = type(value)
    if kind is str:
        if detect:
            value = detect_type(value)
            if type(value) is not str:
                return value
        return (
            value if len(value) <= MAX_STRING_LENGTH else truncate(value, state, f"{prefix}.{key}")
        )
    if kind is bool:
        return value
    if kind is int or kind is float:
        return number(value, state, f"{prefix}.{key}")
    if value is None:
        return DROP  # a null property carries nothing; Braze would store nothing either
    if kind is list:
        state.issue(_K.ARRAY_IN_EVENT_PROPERTY, f"{prefix}.{key}", value, _A.DROPPED_FIELD)
        return DROP
    if kind is dict:
        state.issue(_K.OBJECT_IN_EVENT_PROPERTY, f"{prefix}.{key}", value, _A.DROPPED_FIELD)
        return DROP
    converted = foreign_value(value, state, f"{prefix}.{key}")
    return DROP if converted is DROP else property_value(converted, state, prefix, key, detect)


def truncate(value: str, state: BatchState, path: str) -> str:
    state.issue(_K.STRING_TRUNCATED, path, value, _A.TRUNCATED)
    return value[:MAX_STRING_LENGTH]


def number(value: int | float, state: BatchState, path: str) -> Any:
    """Finite int64/double or DROP: NaN, ±Infinity and huge integers never reach Braze."""
    if type(value) is int:
        if INT64_MIN <= value <= INT64_MAX:
            return value
        state.issue(_K.INVALID_VALUE, path, value, _A.DROPPED_FIELD)
        return DROP
    if isfinite(value):
        return value
    state.issue(_K.NON_FINITE_NUMBER, path, value, _A.DROPPED_FIELD)
    return DROP


def foreign_value(value: object, state: BatchState, path: str) -> Any:
    """A JSON type for values json.loads never makes (a caller handing us Python objects)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    for base in (bool, int, float, str):  # subclasses such as IntEnum or StrEnum
        if isinstance(value, base):
            return base(value)
    state.issue(_K.INVALID_VALUE, path, value, _A.DROPPED_FIELD)
    return DROP


def lenient_number(value: object) -> float | None:
    """An amount from JSON numbers or the SDK's Decimal-as-string ("0.00"); None if unusable."""
    if type(value) is bool or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if isfinite(number) else None
