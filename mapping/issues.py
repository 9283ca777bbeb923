"""What went wrong while mapping, as plain data: the kinds, the actions taken, one record each.

``IssueKind`` and ``IssueAction`` values are stored by the MappingIssue model (choices), so they
are short and must never change once released; add new members instead of renaming.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice

EXAMPLE_LENGTH = 100
FIELD_PATH_LENGTH = 200


class IssueKind(StrEnum):
    ARRAY_IN_EVENT_PROPERTY = "array_in_event_property"
    OBJECT_IN_EVENT_PROPERTY = "object_in_event_property"
    OBJECT_IN_CUSTOM_ATTRIBUTE = "object_in_custom_attribute"
    KEY_TOO_LONG = "key_too_long"
    RESERVED_PROPERTY_NAME = "reserved_property_name"
    EMPTY_KEY = "empty_key"
    STRING_TRUNCATED = "string_truncated"
    ARRAY_TRUNCATED = "array_truncated"
    EXTERNAL_ID_TOO_LONG = "external_id_too_long"
    NO_EXTERNAL_ID = "no_external_id"
    MISSING_TIMESTAMP = "missing_timestamp"
    EVENT_NAME_TOO_LONG = "event_name_too_long"
    INVALID_SUBSCRIPTION_STATE = "invalid_subscription_state"
    UNSUPPORTED_EVENT_TYPE = "unsupported_event_type"
    MALFORMED_EVENT = "malformed_event"
    INVALID_VALUE = "invalid_value"
    NON_FINITE_NUMBER = "non_finite_number"
    MISSING_APP_ID = "missing_app_id"
    OBJECT_TOO_LARGE = "object_too_large"
    PROFILE_FULL = "profile_full"
    SUBSCRIPTION_GROUP_NOT_BOOLEAN = "subscription_group_not_boolean"

    @property
    def label(self) -> str:
        return ISSUE_KIND_LABELS[self]


ISSUE_KIND_LABELS: dict[IssueKind, str] = {
    IssueKind.ARRAY_IN_EVENT_PROPERTY: "Array in an event property",
    IssueKind.OBJECT_IN_EVENT_PROPERTY: "Object in an event property",
    IssueKind.OBJECT_IN_CUSTOM_ATTRIBUTE: "Object in a custom attribute",
    IssueKind.KEY_TOO_LONG: "Key longer than 255 characters",
    IssueKind.RESERVED_PROPERTY_NAME: "Reserved property name",
    IssueKind.EMPTY_KEY: "Empty key",
    IssueKind.STRING_TRUNCATED: "String longer than 255 characters",
    IssueKind.ARRAY_TRUNCATED: "Array longer than the attribute array limit",
    IssueKind.EXTERNAL_ID_TOO_LONG: "external_id longer than 987 bytes",
    IssueKind.NO_EXTERNAL_ID: "No external identity",
    IssueKind.MISSING_TIMESTAMP: "Missing timestamp",
    IssueKind.EVENT_NAME_TOO_LONG: "Event name longer than 255 characters",
    IssueKind.INVALID_SUBSCRIPTION_STATE: "Invalid subscription state",
    IssueKind.UNSUPPORTED_EVENT_TYPE: "Unsupported event type",
    IssueKind.MALFORMED_EVENT: "Malformed event",
    IssueKind.INVALID_VALUE: "Invalid value",
    IssueKind.NON_FINITE_NUMBER: "NaN or infinite number",
    IssueKind.MISSING_APP_ID: "No app identifier for the platform",
    IssueKind.OBJECT_TOO_LARGE: "Object larger than 100 KB",
    IssueKind.PROFILE_FULL: "User profile at its size limit",
    IssueKind.SUBSCRIPTION_GROUP_NOT_BOOLEAN: "Subscription group attribute neither true nor false",
}


class IssueAction(StrEnum):
    DROPPED_FIELD = "dropped_field"
    DROPPED_OBJECT = "dropped_object"
    TRUNCATED = "truncated"
    COERCED = "coerced"
    SKIPPED_EVENT = "skipped_event"
    NOT_KEPT = "not_kept"

    @property
    def label(self) -> str:
        return ISSUE_ACTION_LABELS[self]


ISSUE_ACTION_LABELS: dict[IssueAction, str] = {
    IssueAction.DROPPED_FIELD: "Dropped the field",
    IssueAction.DROPPED_OBJECT: "Dropped the object",
    IssueAction.TRUNCATED: "Truncated",
    IssueAction.COERCED: "Coerced",
    IssueAction.SKIPPED_EVENT: "Skipped the event",
    IssueAction.NOT_KEPT: "Sent, not kept in the user's profile",
}


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in one place; the model aggregates them per (kind, field_path)."""

    kind: IssueKind
    field_path: str
    example: str
    action: IssueAction
    event_index: int | None


# An example is bounded in depth and width before it is written, so neither a hostile
# 10,000-level object nor a million-item list costs more than a few hundred characters of work.
EXAMPLE_LEVELS = 2
EXAMPLE_DICT_ITEMS = 4
EXAMPLE_LIST_ITEMS = 6


def example_of(value: object) -> str:
    """A short, printable sample of an offending value for the audit trail.

    A string is kept as it is; ``None`` is empty; anything else is JSON text (``{"a": 1}``,
    ``["x", "y"]``, ``true``, ``NaN``) with keys in their original order, containers nested
    deeper than two levels shown as ``{…}`` or ``[…]``, long ones ending in ``…``, and the
    whole cut at ``EXAMPLE_LENGTH`` characters.
    """
    if type(value) is str:
        return value[:EXAMPLE_LENGTH]
    if value is None:
        return ""
    try:
        return _json_example(value, EXAMPLE_LEVELS)[:EXAMPLE_LENGTH]
    except Exception:  # a value we cannot print must not stop the mapping
        return f"<{type(value).__name__}>"


def _json_example(value: object, levels: int) -> str:
    if isinstance(value, dict):
        pairs = islice(value.items(), EXAMPLE_DICT_ITEMS)
        items = (f"{_json_string(str(key))}: {_json_example(v, levels - 1)}" for key, v in pairs)
        return _json_container("{", "}", items, len(value), levels, EXAMPLE_DICT_ITEMS)
    if isinstance(value, list | tuple):
        elements = (_json_example(v, levels - 1) for v in islice(value, EXAMPLE_LIST_ITEMS))
        return _json_container("[", "]", elements, len(value), levels, EXAMPLE_LIST_ITEMS)
    if isinstance(value, str):
        return _json_string(value)
    return json.dumps(value)  # numbers and booleans; NaN and Infinity as Python's json reads them


def _json_container(
    opening: str, closing: str, items: Iterator[str], size: int, levels: int, shown: int
) -> str:
    if size == 0:
        return opening + closing
    if levels == 0:
        return f"{opening}…{closing}"
    more = ["…"] if size > shown else []
    return opening + ", ".join([*items, *more]) + closing


def _json_string(text: str) -> str:
    return json.dumps(text[:EXAMPLE_LENGTH], ensure_ascii=False)


def bounded_path(path: str) -> str:
    """Field paths name user-supplied keys; cap them so one huge key cannot bloat a row."""
    return path if len(path) <= FIELD_PATH_LENGTH else path[: FIELD_PATH_LENGTH - 1] + "…"
