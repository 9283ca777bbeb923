"""mParticle reserved user attributes → Braze standard fields (reference kit §4.4).

Keys match case-insensitively. Each converter returns the Braze value, None to unset, or DROP.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Final

from mapping.detection import INT64_MAX, INT64_MIN
from mapping.issues import IssueAction, IssueKind
from mapping.rules import DROP, MAX_STRING_LENGTH, lenient_number, truncate
from mapping.state import BatchState

Converter = Callable[[object, BatchState, str], Any]

MAX_AGE: Final = 150
SUBSCRIPTION_STATES: Final = frozenset({"opted_in", "subscribed", "unsubscribed"})
# Braze: M, F, O (other), N (not applicable), P (prefer not to say), null (unknown).
# Unlike the Android kit (anything without "fe" → male), "F" and "Female" are female here.
GENDERS: Final[dict[str, str | None]] = {
    "f": "F",
    "female": "F",
    "m": "M",
    "male": "M",
    "o": "O",
    "other": "O",
    "n": "N",
    "na": "N",
    "not applicable": "N",
    "p": "P",
    "prefer not to say": "P",
    "u": None,
    "unknown": None,
    "": None,
}


def _invalid(value: object, state: BatchState, path: str) -> Any:
    state.issue(IssueKind.INVALID_VALUE, path, value, IssueAction.DROPPED_FIELD)
    return DROP


def to_text(value: object, state: BatchState, path: str) -> Any:
    """Standard string fields; a number is written as text (and recorded)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING_LENGTH else truncate(value, state, path)
    if _is_plain_number(value):
        state.issue(IssueKind.INVALID_VALUE, path, value, IssueAction.COERCED)
        return str(value)
    return _invalid(value, state, path)


def to_zip(value: object, state: BatchState, path: str) -> Any:
    """`Zip` is always a string and never type-detected: 02134 must keep its zero."""
    if isinstance(value, float) and value.is_integer() and _is_plain_number(value):
        return str(int(value))
    if _is_plain_number(value):
        return str(value)
    return to_text(value, state, path)


def to_dob_from_age(value: object, state: BatchState, path: str) -> Any:
    """`$Age` → 1 January of (current year - age), as mParticle does."""
    if value is None:
        return None
    age = lenient_number(value)
    if age is None or not 0 <= age <= MAX_AGE:
        return _invalid(value, state, path)
    return f"{state.context.now.year - int(age):04d}-01-01"


def to_dob(value: object, state: BatchState, path: str) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            pass
    return _invalid(value, state, path)


def to_gender(value: object, state: BatchState, path: str) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return GENDERS.get(value.strip().lower(), "O")
    return _invalid(value, state, path)


def to_subscription(value: object, state: BatchState, path: str) -> Any:
    """Braze accepts exactly opted_in / subscribed / unsubscribed, lower-case."""
    if isinstance(value, str):
        if value in SUBSCRIPTION_STATES:
            return value
        normal = value.strip().lower()
        if normal in SUBSCRIPTION_STATES:
            state.issue(IssueKind.INVALID_SUBSCRIPTION_STATE, path, value, IssueAction.COERCED)
            return normal
    state.issue(IssueKind.INVALID_SUBSCRIPTION_STATE, path, value, IssueAction.DROPPED_FIELD)
    return DROP


def _is_plain_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    return isinstance(value, float) and value == value and abs(value) != float("inf")


RESERVED_ATTRIBUTES: Final[dict[str, tuple[str, Converter]]] = {
    "$firstname": ("first_name", to_text),
    "$lastname": ("last_name", to_text),
    "$age": ("dob", to_dob_from_age),
    "dob": ("dob", to_dob),
    "$gender": ("gender", to_gender),
    "$country": ("country", to_text),
    "$city": ("home_city", to_text),
    "$mobile": ("phone", to_text),
    "$zip": ("Zip", to_zip),
    "$state": ("State", to_text),
    "$address": ("Address", to_text),
    "email_subscribe": ("email_subscribe", to_subscription),
    "push_subscribe": ("push_subscribe", to_subscription),
}

# Attribute keys that would change who the object is about, or how Braze reads it.
BRAZE_CONTROL_KEYS: Final = frozenset(
    {
        "external_id",
        "braze_id",
        "user_alias",
        "_update_existing_only",
        "_merge_objects",
        "push_token_import",
        "push_tokens",
        "subscription_groups",
    }
)
