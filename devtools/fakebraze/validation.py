"""What Braze checks inside a ``/users/track`` body: the object cap and per-object rules.

Pure functions: a parsed JSON body in, a status, a response body and the accepted objects out.
Error texts quote live Braze strings where the reference has them (§1.7); the others are
written in the same style, since clients must key off ``input_array``/``index``, not the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devtools.fakebraze.config import BatchMode
from devtools.fakebraze.subscription_groups import subscription_groups_error

KINDS = ("attributes", "events", "purchases")
PRIMARY_IDENTIFIERS = ("external_id", "user_alias", "braze_id")
SECONDARY_IDENTIFIERS = ("email", "phone")
SUBSCRIPTION_STATES = frozenset({"opted_in", "subscribed", "unsubscribed"})
RESERVED_PROPERTIES = frozenset({"time", "event_name"})
MAX_EXTERNAL_ID_BYTES = 987
CAPS = {BatchMode.COMBINED: (75, False), BatchMode.LEGACY: (75, True), BatchMode.MAU: (50, False)}

MAX_INPUT_LENGTH = "Max Input Length Exceeded"
VALID_DATA_REQUIRED = (
    "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
)
MISSING_IDENTIFIER = "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
SEVERAL_PRIMARY_IDENTIFIERS = "Only one of 'external_id', 'braze_id' or 'user_alias' may be given"
INVALID_EMAIL = "The value provided for the 'email' field is not a valid email."
EXTERNAL_ID_TOO_LARGE = "'external_id' must be fewer than 988 bytes"
EXTERNAL_ID_NOT_STRING = "'external_id' must be a string"
BAD_USER_ALIAS = "'user_alias' must be an object with string 'alias_name' and 'alias_label'"
NOT_AN_OBJECT = "Each item of '{kind}' must be an object"
BAD_SUBSCRIPTION_STATE = "'{name}' must be one of 'opted_in', 'subscribed' or 'unsubscribed'"
REQUIRED_FIELD = "'{name}' is required"
RESERVED_PROPERTY = "'time' and 'event_name' are reserved and cannot be used as property names"
PROPERTIES_NOT_OBJECT = "'properties' must be an object"
PRICE_NOT_NUMBER = "'price' must be a number"
BAD_QUANTITY = "'quantity' must be an integer between 1 and 100"

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")

ObjectCheck = Callable[[dict[str, Any]], "str | None"]


@dataclass
class TrackResult:
    """The answer to one ``/users/track`` body and the objects Braze would have queued."""

    status: int
    body: dict[str, Any]
    accepted: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)


def split_arrays(payload: object) -> dict[str, list[Any]] | None:
    """The arrays sent, by kind; ``None`` when the body is not shaped like a track request."""
    if not isinstance(payload, dict):
        return None
    arrays = {kind: payload[kind] for kind in KINDS if payload.get(kind) is not None}
    if not all(isinstance(items, list) for items in arrays.values()):
        return None
    return arrays


def over_cap(arrays: dict[str, list[Any]], mode: BatchMode) -> bool:
    limit, per_array = CAPS[mode]
    sizes = [len(items) for items in arrays.values()]
    return max(sizes, default=0) > limit if per_array else sum(sizes) > limit


def validate_track(payload: object, mode: BatchMode) -> TrackResult:
    """Apply Braze's request-level then per-object rules to a parsed body."""
    arrays = split_arrays(payload)
    if arrays is None:
        return TrackResult(400, {"message": VALID_DATA_REQUIRED})
    if over_cap(arrays, mode):
        return TrackResult(400, {"message": MAX_INPUT_LENGTH})
    result = TrackResult(201, {"message": "success"})
    errors = [error for kind, items in arrays.items() for error in _sort(kind, items, result)]
    if not result.accepted:
        return TrackResult(400, {"message": VALID_DATA_REQUIRED, **_errors_field(errors)})
    result.body.update(_processed_counts(arrays, result), **_errors_field(errors))
    return result


def _sort(kind: str, items: list[Any], result: TrackResult) -> list[dict[str, Any]]:
    errors = []
    for index, item in enumerate(items):
        error = object_error(kind, item)
        if error is None:
            result.accepted.append((kind, index, item))
        else:
            errors.append({"type": error, "input_array": kind, "index": index})
    return errors


def _processed_counts(arrays: dict[str, list[Any]], result: TrackResult) -> dict[str, int]:
    counts = dict.fromkeys(arrays, 0)
    for kind, _, _ in result.accepted:
        counts[kind] += 1
    return {f"{kind}_processed": count for kind, count in counts.items()}


def _errors_field(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"errors": errors} if errors else {}


def object_error(kind: str, item: object) -> str | None:
    """The first rule ``item`` breaks, as Braze's error ``type`` text, or ``None``."""
    if not isinstance(item, dict):
        return NOT_AN_OBJECT.format(kind=kind)
    for check in (*COMMON_CHECKS, *KIND_CHECKS[kind]):
        error = check(item)
        if error is not None:
            return error
    return None


def identifier_error(item: dict[str, Any]) -> str | None:
    primaries = [name for name in PRIMARY_IDENTIFIERS if item.get(name) is not None]
    if len(primaries) > 1:
        return SEVERAL_PRIMARY_IDENTIFIERS
    if primaries or any(item.get(name) is not None for name in SECONDARY_IDENTIFIERS):
        return None
    return MISSING_IDENTIFIER


def external_id_error(item: dict[str, Any]) -> str | None:
    external_id = item.get("external_id")
    if external_id is None:
        return None
    if not isinstance(external_id, str):
        return EXTERNAL_ID_NOT_STRING
    too_large = len(external_id.encode()) > MAX_EXTERNAL_ID_BYTES
    return EXTERNAL_ID_TOO_LARGE if too_large else None


def user_alias_error(item: dict[str, Any]) -> str | None:
    alias = item.get("user_alias")
    if alias is None:
        return None
    if not isinstance(alias, dict):
        return BAD_USER_ALIAS
    names = (alias.get("alias_name"), alias.get("alias_label"))
    return None if all(isinstance(value, str) and value for value in names) else BAD_USER_ALIAS


def email_error(item: dict[str, Any]) -> str | None:
    email = item.get("email")
    if email is None or (isinstance(email, str) and EMAIL_PATTERN.match(email)):
        return None
    return INVALID_EMAIL


def subscription_error(item: dict[str, Any]) -> str | None:
    for name in ("email_subscribe", "push_subscribe"):
        if name in item and item[name] not in SUBSCRIPTION_STATES:
            return BAD_SUBSCRIPTION_STATE.format(name=name)
    return None


def required(*names: str) -> ObjectCheck:
    def check(item: dict[str, Any]) -> str | None:
        missing = [name for name in names if item.get(name) in (None, "")]
        return REQUIRED_FIELD.format(name=missing[0]) if missing else None

    return check


def properties_error(item: dict[str, Any]) -> str | None:
    properties = item.get("properties")
    if properties is None:
        return None
    if not isinstance(properties, dict):
        return PROPERTIES_NOT_OBJECT
    return RESERVED_PROPERTY if RESERVED_PROPERTIES & properties.keys() else None


def price_and_quantity_error(item: dict[str, Any]) -> str | None:
    price, quantity = item["price"], item.get("quantity", 1)
    if isinstance(price, bool) or not isinstance(price, int | float):
        return PRICE_NOT_NUMBER
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 100:
        return BAD_QUANTITY
    return None


COMMON_CHECKS: tuple[ObjectCheck, ...] = (
    identifier_error,
    external_id_error,
    user_alias_error,
    email_error,
)
KIND_CHECKS: dict[str, tuple[ObjectCheck, ...]] = {
    "attributes": (subscription_error, subscription_groups_error),
    "events": (required("name", "time"), properties_error),
    "purchases": (
        required("product_id", "currency", "price", "time"),
        price_and_quantity_error,
        properties_error,
    ),
}
