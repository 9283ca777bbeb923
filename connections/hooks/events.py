"""The events a REST hook can subscribe to, and the payload every one of them is sent as."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings

CONNECTION_TEST_FAILED = "connection.test_failed"
CONNECTION_TEST_SUCCEEDED = "connection.test_succeeded"
CONNECTION_PAUSED = "connection.paused"
CONNECTION_RESUMED = "connection.resumed"
CONNECTION_UPDATED = "connection.updated"
DELIVERY_DEAD_LETTERED = "delivery.dead_lettered"
DELIVERY_REJECTED = "delivery.rejected"
MAPPING_ISSUE_DETECTED = "mapping.issue_detected"
DSR_COMPLETED = "dsr.completed"
DSR_FAILED = "dsr.failed"

EVENTS = [
    CONNECTION_TEST_FAILED,
    CONNECTION_TEST_SUCCEEDED,
    CONNECTION_PAUSED,
    CONNECTION_RESUMED,
    CONNECTION_UPDATED,
    DELIVERY_DEAD_LETTERED,
    DELIVERY_REJECTED,
    MAPPING_ISSUE_DETECTED,
    DSR_COMPLETED,
    DSR_FAILED,
]
DESCRIPTIONS = {
    CONNECTION_TEST_FAILED: "A connectivity check of an output failed.",
    CONNECTION_TEST_SUCCEEDED: "A connectivity check of an output passed.",
    CONNECTION_PAUSED: "Forwarding of a connection was paused (by mpbraze or a person).",
    CONNECTION_RESUMED: "A paused connection resumed forwarding.",
    CONNECTION_UPDATED: "A connection or one of its outputs was changed, added or removed.",
    DELIVERY_DEAD_LETTERED: "Rows ran out of retries (counted per connection per minute).",
    DELIVERY_REJECTED: "Braze refused rows for what they hold (per connection per minute).",
    MAPPING_ISSUE_DETECTED: "Data that could not be sent as it came was seen for the first time.",
    DSR_COMPLETED: "An erasure (OpenDSR) finished: deleted at Braze and here (counts only).",
    DSR_FAILED: "An erasure (OpenDSR) failed; the reason says why.",
}
CHOICES = [(name, name) for name in EVENTS]


def event_id_new() -> str:
    """``msg_<random>``: the ``webhook-id`` of every attempt of the event."""
    return f"msg_{secrets.token_urlsafe(18)}"


def event_body(*, event: str, data: dict[str, Any], at: datetime) -> str:
    """The JSON text sent (and signed) byte for byte: ``type``, ``timestamp``, ``data``."""
    payload = {"type": event, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)


def absolute_link(path: str) -> str:
    """A site path as the absolute URL a hook's receiver can follow (``MPBRAZE_PUBLIC_URL``)."""
    return f"{settings.MPBRAZE_PUBLIC_URL}{path}"


def connection_data(connection: Any) -> dict[str, Any]:
    """How every event names its connection (never a key)."""
    return {"id": connection.pk, "name": connection.name, "slug": connection.slug}
