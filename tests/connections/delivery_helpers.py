"""Shared setup for delivery tests: a connection whose Server output points at a fake Braze."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from connections.delivery.intake import batch_content_hash
from connections.models import BrazeOutput, Connection, Delivery, InboundBatch
from connections.rules import instances
from tests.conftest import add_output

REST_KEY = "rest-key-0000-aaaa"


def braze_connection(connection: Connection, fake_url: str) -> BrazeOutput:
    """iOS + Server outputs on a Custom instance whose REST endpoint is the fake Braze."""
    host = urlsplit(fake_url).netloc
    endpoints = {"braze_instance": instances.CUSTOM, "custom_rest_endpoint": host}
    add_output(connection, "ios", "ios-app-key-0001", **endpoints)
    return add_output(connection, "server", REST_KEY, **endpoints)


def queue_rows(output: BrazeOutput, bodies: list[tuple[str, dict[str, Any]]]) -> list[Delivery]:
    """Outbox rows straight into the queue, one batch, as the mapping would leave them."""
    payload = {"rows": len(bodies), "at": timezone.now().isoformat()}
    batch = InboundBatch.objects.create(
        connection=output.connection,
        content_hash=batch_content_hash(payload),
        payload=payload,
        status=InboundBatch.Status.MAPPED,
    )
    rows = [
        Delivery(
            connection=output.connection,
            output=output,
            batch=batch,
            sequence=n,
            kind=kind,
            body=body,
            user_key=str(body.get("external_id", "")),
            event_name=str(body.get("name", "")),
            event_index=n,
            next_attempt_at=timezone.now(),
        )
        for n, (kind, body) in enumerate(bodies)
    ]
    return Delivery.objects.bulk_create(rows)


def queue_user_row(output: BrazeOutput, bodies: list[tuple[str, dict[str, Any]]]) -> Delivery:
    """One outbox row holding a user's objects of one batch, as the mapping writes it."""
    rows = queue_rows(output, bodies[:1])
    row = rows[0]
    row.more = [
        {
            "sequence": n,
            "kind": kind,
            "event_index": n,
            "event_name": str(body.get("name", "")),
            "body": body,
        }
        for n, (kind, body) in enumerate(bodies[1:], 1)
    ]
    row.size = len(bodies)
    row.save(update_fields=["more", "size"])
    return row


def event(user: str, name: str = "Played", **properties: Any) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {"external_id": user, "name": name, "time": "2026-11-01T00:00:00Z"}
    if properties:
        body["properties"] = properties
    return ("events", body)


def objects_in(rows: QuerySet[Delivery]) -> int:
    """The Braze objects these outbox rows hold (a row holds a user's objects of a batch)."""
    return int(rows.aggregate(n=Coalesce(Sum("size"), 0))["n"])


def statuses() -> dict[str, int]:
    """Objects by the status of their row."""
    counts: dict[str, int] = {}
    for status, size in Delivery.objects.values_list("status", "size"):
        counts[status] = counts.get(status, 0) + size
    return counts
