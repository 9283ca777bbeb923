"""A stored batch read as live event rows: who, which platform, which event, newest first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from connections.delivery.models import InboundBatch
from connections.live.positions import ATTRIBUTES_SLOT, Position

ANONYMOUS: Final = "anonymous"
ATTRIBUTES_TYPE: Final = "user_attributes"
BATCH_USER_KEYS: Final = ("mpid", "user_identities", "user_attributes", "device_info")
_NAME_KEYS: Final = {
    "custom_event": "event_name",
    "screen_view": "screen_name",
    "user_attribute_change": "user_attribute_name",
    "user_identity_change": "identity_type",
}


@dataclass(frozen=True)
class Slot:
    """One row: an event of a batch, or the batch's own user attributes object."""

    position: Position
    received_at: datetime
    user: str  # the external identity, else "MPID 123", else "anonymous"
    platform: str
    event_type: str
    event_name: str
    source: Any  # the event exactly as received (for the attributes row: the batch's user data)


def batch_slots(batch: InboundBatch, *, external_identity: str, attributes: bool) -> list[Slot]:
    """The batch's rows, newest first: its events from the last, then (when ``attributes``:
    it has user attributes, or an attributes object was made of them) the attributes row."""
    payload = batch.payload if isinstance(batch.payload, dict) else {}
    user = batch_user(payload, external_identity)
    platform = batch_platform(payload)
    events = payload.get("events")
    events = events if isinstance(events, list) else []
    slots = [
        Slot(
            Position(batch.pk, index),
            batch.received_at,
            user,
            platform,
            *_type_and_name(event),
            event,
        )
        for index, event in reversed(list(enumerate(events)))
    ]
    if attributes or _has_attributes(payload):
        user_data = {key: payload[key] for key in BATCH_USER_KEYS if key in payload}
        position = Position(batch.pk, ATTRIBUTES_SLOT)
        slots.append(
            Slot(position, batch.received_at, user, platform, ATTRIBUTES_TYPE, "", user_data)
        )
    return slots


def batch_user(payload: Mapping[str, Any], external_identity: str) -> str:
    identities = payload.get("user_identities")
    if isinstance(identities, dict):
        value = identities.get(external_identity)
        if isinstance(value, str | int) and str(value).strip():
            return str(value)[:255]
    mpid = payload.get("mpid")
    if isinstance(mpid, str | int) and str(mpid).strip() and str(mpid) != "0":
        return f"MPID {str(mpid)[:40]}"
    return ANONYMOUS


def batch_platform(payload: Mapping[str, Any]) -> str:
    device = payload.get("device_info")
    platform = device.get("platform") if isinstance(device, dict) else None
    return platform[:40] if isinstance(platform, str) else ""


def _type_and_name(event: Any) -> tuple[str, str]:
    if not isinstance(event, dict):
        return "malformed", ""
    event_type = event.get("event_type")
    event_type = event_type[:60] if isinstance(event_type, str) else "malformed"
    data = event.get("data")
    data = data if isinstance(data, dict) else {}
    name = data.get(_NAME_KEYS.get(event_type, "event_name"))
    if event_type == "commerce_event":
        action = data.get("product_action")
        name = action.get("action") if isinstance(action, dict) else None
    return event_type, name[:255] if isinstance(name, str) else ""


def _has_attributes(payload: Mapping[str, Any]) -> bool:
    attributes = payload.get("user_attributes")
    return isinstance(attributes, dict) and bool(attributes)
