"""Batches for the live events tests: stored as ingest stores them, mapped by the real
mapping service, their outbox rows then set to the state a case needs."""

from __future__ import annotations

from typing import Any

from connections import services
from connections.delivery.groups import split_rows
from connections.delivery.intake import batch_receive
from connections.delivery.mapping_service import batch_map
from connections.models import BrazeOutput, Connection, Delivery, InboundBatch
from connections.rules.validation import OutputDraft
from mapping.output_settings import OutputSettings
from tests.conftest import add_output


def custom(name: str, **attributes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"event_name": name, "custom_event_type": "other"}
    if attributes:
        data["custom_attributes"] = attributes
    return {"event_type": "custom_event", "data": data}


def outputs(connection: Connection, **settings: Any) -> BrazeOutput:
    """An iOS output (its key becomes the objects' app_id) and a Server output."""
    add_output(connection, "ios", "ios-app-key-0001")
    draft = OutputDraft(platform="server", api_key="rest-key-0002")
    return services.output_save(
        connection=connection, draft=draft, settings=OutputSettings(**settings)
    )


def receive(
    connection: Connection,
    *events: dict[str, Any],
    user: str | None = "ana",
    mpid: int = 8001,
    email: str | None = None,
    platform: str = "iOS",
    attributes: dict[str, Any] | None = None,
    mapped: bool = True,
) -> InboundBatch:
    identities = {"customer_id": user} if user else {}
    if email:
        identities["email"] = email
    payload: dict[str, Any] = {
        "events": list(events),
        "mpid": mpid,
        "user_identities": identities,
        "device_info": {"platform": platform},
        "user_attributes": attributes or {},
    }
    batch, _ = batch_receive(connection=connection, payload=payload)
    if mapped:
        batch_map(batch_id=batch.pk)
        batch.refresh_from_db()
    return batch


def rows_of(batch: InboundBatch) -> dict[int | None, Delivery]:
    """The batch's outbox rows by event, one object a row: split as when Braze answers the
    objects of a row apart, so a test can give each its own fate."""
    split_rows(Delivery.objects.filter(batch=batch))
    return {row.event_index: row for row in Delivery.objects.filter(batch=batch)}
