"""An independent check that a Braze object obeys the type rules (used by property tests)."""

from __future__ import annotations

import json
import re
from typing import Any

from mapping.objects import BrazeObject, ObjectKind

ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
IDENTIFIERS = {"external_id", "user_alias"}
ATTRIBUTE_FLAGS = {"_update_existing_only", "push_tokens"}
# Structures the engine builds itself in the bundled and recommended-events modes.
BUILT_STRUCTURES = {"products", "metadata"}


def is_text(value: Any, limit: int = 255) -> bool:
    return isinstance(value, str) and len(value) <= limit


def is_scalar(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= 255
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, float) and value == value and abs(value) != float("inf")


def is_valid_key(key: Any, reserved: set[str]) -> bool:
    return is_text(key) and bool(key.strip()) and not key.startswith("$") and key not in reserved


def check_properties(properties: dict[str, Any], engine_built: bool) -> None:
    assert properties, "an empty properties object is left out"
    for key, value in properties.items():
        assert is_valid_key(key, {"time", "event_name"}), key
        if engine_built and key in BUILT_STRUCTURES:
            check_structure(value)
        else:
            assert is_scalar(value), (key, value)


def check_structure(value: Any) -> None:
    for item in value if isinstance(value, list) else [value]:
        assert isinstance(item, dict), item
        for key, inner in item.items():
            assert is_text(key), key
            flat = inner.values() if isinstance(inner, dict) else [inner]
            assert all(is_scalar(v) for v in flat), (key, inner)


def check_attribute_value(value: Any) -> None:
    if isinstance(value, list):
        assert all(is_text(item) for item in value), value
        assert len(value) <= 500
    else:
        assert value is None or is_scalar(value), value


def check_identity(body: dict[str, Any]) -> None:
    assert len(IDENTIFIERS & body.keys()) == 1, body
    if "external_id" in body:
        assert is_text(body["external_id"], 987), body
        assert 0 < len(body["external_id"].encode()) <= 987


def check_braze_object(item: BrazeObject) -> None:
    body = item.body
    json.dumps(body, allow_nan=False)  # no NaN or Infinity anywhere
    check_identity(body)
    if item.kind is ObjectKind.EVENTS:
        check_event(body)
    elif item.kind is ObjectKind.PURCHASES:
        check_purchase(body)
    else:
        for key, value in body.items():
            if key not in IDENTIFIERS | ATTRIBUTE_FLAGS:
                assert is_valid_key(key, set()), key
                check_attribute_value(value)


def check_event(body: dict[str, Any]) -> None:
    name = body["name"]
    assert is_valid_key(name, set()), name
    assert ISO_TIME.match(body["time"]), body["time"]
    built = name.startswith("ecommerce.") or (
        name.startswith("eCommerce - ") and " - Item" not in name
    )
    if "properties" in body:
        check_properties(body["properties"], built)


def check_purchase(body: dict[str, Any]) -> None:
    assert is_valid_key(body["product_id"], set()), body["product_id"]
    assert re.fullmatch(r"[A-Z]{3}", body["currency"]), body["currency"]
    assert isinstance(body["price"], float), body["price"]
    assert is_scalar(body["price"]), body["price"]
    assert isinstance(body["quantity"], int), body["quantity"]
    assert 1 <= body["quantity"] <= 100, body["quantity"]
    assert ISO_TIME.match(body["time"]), body["time"]
    if "properties" in body:
        check_properties(body["properties"], body["product_id"] == "eCommerce - purchase")
