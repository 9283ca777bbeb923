"""Each event's fate in words, from its batch and its outbox rows (issue 25, point 1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.delivery.groups import split_rows
from connections.delivery.intake import batches_receive
from connections.live.filters import LiveFilters
from connections.live.selectors import live_events_page
from connections.models import Connection, InboundBatch
from tests.connections.live.live_helpers import custom, outputs, receive, rows_of

pytestmark = pytest.mark.django_db
SOON = timezone.now() + timedelta(minutes=5)


def fates(connection: Connection) -> dict[str, str]:
    """Event name (or type) → fate in words, for every row of the first page."""
    page = live_events_page(connection=connection, filters=LiveFilters(), limit=200)
    return {e.slot.event_name or e.slot.event_type: str(e.fate) for e in page.events}


@pytest.fixture
def shown(connection: Connection) -> dict[str, str]:
    outputs(connection, event_denylist=("Hidden",))
    names = ["Queued", "Sending", "Sent", "Retrying", "Rejected", "Dead", "Discarded", "Hidden"]
    batch = receive(connection, *[custom(name) for name in names])
    rows = rows_of(batch)
    now = timezone.now()
    updates: list[dict[str, object]] = [
        {},
        {"status": "sending"},
        {"status": "sent", "sent_at": now},
        {"attempts": 1, "last_status_code": 503, "last_error": "Service Unavailable"},
        {"status": "rejected", "last_status_code": 201, "last_error": "'name' is required"},
        {"status": "dead", "attempts": 5, "last_error": "Service Unavailable"},
        {"status": "discarded", "discarded_at": now},
    ]
    for index, fields in enumerate(updates):
        for name, value in [("next_attempt_at", SOON), *fields.items()]:
            setattr(rows[index], name, value)
        rows[index].save()
    receive(connection, {"event_type": "application_state_transition", "data": {}})
    receive(connection, custom("Anonymous"), user=None)
    receive(connection, custom("Not mapped yet"), user="bo", mapped=False)
    batches_receive(connection=connection, payloads=[{"events": [custom("Kit")]}], forward=False)
    failed = receive(connection, custom("Failed"), user="cy", mapped=False)
    InboundBatch.objects.filter(pk=failed.pk).update(status="failed", error="Boom")
    return fates(connection)


@pytest.mark.parametrize(
    ("event", "fate"),
    [
        ("Queued", "queued"),
        ("Sending", "sending"),
        ("Sent", "sent (at "),
        ("Retrying", "retrying (last answer: 503 Service Unavailable; next try at "),
        ("Rejected", "rejected by Braze (Braze: 'name' is required)"),
        ("Dead", "dead (retries exhausted; last answer: Service Unavailable)"),
        ("Discarded", "discarded (discarded by an auditor at "),
        (
            "Hidden",
            "not forwarded (as the output's current settings map it: event “Hidden” in the"
            " event denylist)",
        ),
        (
            "application_state_transition",
            "not forwarded (as the output's current settings map it: application_state_transition"
            " event Braze has no use for this event type)",
        ),
        (
            "Anonymous",
            "not forwarded (as the output's current settings map it: anonymous user dropped (No"
            " external identity at user_identities.customer_id))",
        ),
        ("Not mapped yet", "waiting to be mapped"),
        (
            "Kit",
            "not forwarded (kit mode: the SDK's Braze kit sends it; mpbraze stores it only)",
        ),
        ("Failed", "not forwarded (could not be mapped: Boom)"),
    ],
)
def test_each_event_says_what_became_of_it(shown: dict[str, str], event: str, fate: str) -> None:
    assert shown[event].startswith(fate), shown[event]


def test_an_event_made_of_several_objects_shows_the_least_settled_one(
    connection: Connection,
) -> None:
    outputs(connection)
    purchase = {
        "event_type": "commerce_event",
        "data": {
            "product_action": {
                "action": "purchase",
                "products": [{"id": "a", "price": 1}, {"id": "b", "price": 2}],
            },
            "currency_code": "EUR",
        },
    }
    batch = receive(connection, purchase)
    assert [row.size for row in batch.deliveries.all()] == [2]  # while answered alike
    split_rows(batch.deliveries.all())  # Braze answered the two apart
    first, second = batch.deliveries.order_by("sequence")
    first.status, first.sent_at = "sent", timezone.now()
    first.save()
    second.status, second.last_error = "rejected", "'price' must be a number"
    second.save()

    assert fates(connection)["purchase"] == (
        "rejected by Braze (1 of 2 objects; Braze: 'price' must be a number)"
    )


def test_a_batchs_user_attributes_are_a_row_of_their_own(connection: Connection) -> None:
    outputs(connection)
    receive(connection, custom("Opened"), attributes={"plan": "gold"})

    page = live_events_page(connection=connection, filters=LiveFilters())

    assert [(e.slot.event_type, e.slot.event_name, e.fate.label) for e in page.events] == [
        ("custom_event", "Opened", "queued"),
        ("user_attributes", "", "queued"),
    ]
    assert page.events[1].slot.source["user_attributes"] == {"plan": "gold"}
