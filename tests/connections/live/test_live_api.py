"""GET /api/v1/connections/{id}/events and /events/{event_id}: filters, cursors, polling,
who may read them, redaction, and bad input named (issue 25, points 2 to 4)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from connections.api.tokens import api_token_create
from connections.delivery.groups import split_rows
from connections.delivery.models import Delivery, DeliveryAttempt
from connections.live import selectors
from connections.models import Connection
from tests.connections.api_helpers import ApiClient
from tests.connections.live.live_helpers import custom, outputs, receive

pytestmark = pytest.mark.django_db


def client_of(user: User) -> ApiClient:
    return ApiClient(api_token_create(user=user, scopes=["read"])[1])


@pytest.fixture
def seeded(connection: Connection) -> Connection:
    outputs(connection)
    receive(connection, custom("Opened"), custom("Checkout", total=3), email="ana@example.com")
    receive(connection, custom("Opened"), user="bo", mpid=9002, platform="Android")
    return connection


def events(api: ApiClient, connection: Connection, **query: Any) -> Any:
    response = api.get(f"connections/{connection.pk}/events", data=query)
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_marketer_lists_a_connections_events_newest_first(
    marketer: User, seeded: Connection
) -> None:
    found = events(client_of(marketer), seeded)

    assert [(e["user"], e["event_name"], e["fate"]["fate"]) for e in found["items"]] == [
        ("bo", "Opened", "queued"),
        ("ana", "Checkout", "queued"),
        ("ana", "Opened", "queued"),
        ("ana", "", "queued"),  # the batch's attributes object: its email
    ]
    assert found["items"][1]["platform"] == "iOS"
    assert found["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"user": "ana"}, ["Checkout", "Opened", ""]),
        ({"user": "9002"}, ["Opened"]),
        ({"user": "ana@example.com"}, ["Checkout", "Opened", ""]),
        ({"user": "an"}, []),
        ({"event_name": "check"}, ["Checkout"]),
        ({"platform": "android"}, ["Opened"]),
        ({"fate": "sent"}, []),
        ({"window": "15m", "user": "bo"}, ["Opened"]),
    ],
)
def test_each_filter_narrows_the_list(
    marketer: User, seeded: Connection, query: dict[str, str], expected: list[str]
) -> None:
    found = events(client_of(marketer), seeded, **query)
    assert [e["event_name"] for e in found["items"]] == expected


def test_the_cursor_walks_older_rows_and_after_polls_newer_ones(
    marketer: User, seeded: Connection
) -> None:
    api = client_of(marketer)
    first = events(api, seeded, limit=2)
    older = events(api, seeded, limit=2, cursor=first["next_cursor"])
    assert [e["event_name"] for e in first["items"] + older["items"]] == [
        "Opened",
        "Checkout",
        "Opened",
        "",
    ]
    assert older["next_cursor"] is None

    assert events(api, seeded, after=first["newest"])["items"] == []
    receive(seeded, custom("Later"), user="cy")
    polled = events(api, seeded, after=first["newest"])
    assert [(e["user"], e["event_name"]) for e in polled["items"]] == [("cy", "Later")]
    assert events(api, seeded, after=polled["newest"])["items"] == []


def test_a_filter_no_index_serves_reads_a_bounded_number_of_batches_per_request(
    marketer: User, seeded: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "SCAN_BATCHES", 1)
    api = client_of(marketer)

    first = events(api, seeded, event_name="Checkout")
    assert first["items"] == []  # the newest batch (bo's) holds no Checkout
    assert first["searched_back_to"] is not None
    second = events(api, seeded, event_name="Checkout", cursor=first["next_cursor"])
    assert [e["event_name"] for e in second["items"]] == ["Checkout"]


def test_the_detail_shows_the_event_as_received_and_the_object_as_sent_with_its_answer(
    marketer: User, seeded: Connection
) -> None:
    split_rows(Delivery.objects.all())  # one object a row, as after a per-object error
    row = Delivery.objects.get(event_name="Checkout")
    attempt = DeliveryAttempt.objects.create(
        connection=seeded,
        output=row.output,
        started_at=row.created_at,
        object_count=1,
        outcome="partial",
        status_code=201,
        index_map={"events": [row.pk]},
        braze_errors=[{"type": "'time' is invalid", "input_array": "events", "index": 0}],
    )
    attempt.deliveries.add(row)
    Delivery.objects.filter(pk=row.pk).update(status="rejected", last_error="'time' is invalid")
    event_id = f"{row.batch_id}-{row.event_index}"

    detail = client_of(marketer).get(f"connections/{seeded.pk}/events/{event_id}").json()

    assert detail["fate"]["label"] == "rejected by Braze"
    assert detail["source"] == custom("Checkout", total=3)
    [shown] = detail["braze_objects"]
    assert shown["body"]["external_id"] == "ana"
    assert shown["body"]["app_id"] == "••••0001"  # masked like everywhere
    assert shown["attempts"][0]["answer"] == "'time' is invalid"
    assert shown["failed_send_url"] == f"/admin/connections/failedsend/{row.pk}/change/"


def test_a_connection_that_asks_shows_identities_redacted_to_everyone_but_ops(
    marketer: User, auditor: User, ops: User, seeded: Connection
) -> None:
    Connection.objects.filter(pk=seeded.pk).update(redact_live_events=True)
    batch = receive(seeded, custom("Plan"), attributes={"plan": "gold"})
    path = f"connections/{seeded.pk}/events/{batch.pk}-attributes"

    for user in (marketer, auditor):
        detail = client_of(user).get(path).json()
        assert detail["user"] == "••••"
        assert detail["source"]["user_identities"] == {"customer_id": "••••"}
        assert detail["source"]["user_attributes"] == {"plan": "••••"}
        assert detail["braze_objects"][0]["body"]["plan"] == "••••"
        assert detail["braze_objects"][0]["body"]["external_id"] == "••••"
    detail = client_of(ops).get(path).json()
    assert (detail["user"], detail["braze_objects"][0]["body"]["plan"]) == ("ana", "gold")


def test_an_outsider_may_not_read_live_events(outsider: User, seeded: Connection) -> None:
    response = client_of(outsider).get(f"connections/{seeded.pk}/events")
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"user": "u" * 256}, "user"),
        ({"event_name": "e" * 256}, "event_name"),
        ({"platform": "p" * 41}, "platform"),
        ({"fate": "lost"}, "fate"),
        ({"window": "1y"}, "window"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"after": "x" * 201}, "after"),
        ({"user": "a\x01b"}, "user"),
        ({"limit": "201"}, "limit"),
    ],
)
def test_a_bad_filter_is_a_422_naming_the_field(
    marketer: User, seeded: Connection, query: dict[str, str], field: str
) -> None:
    response = client_of(marketer).get(f"connections/{seeded.pk}/events", data=query)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_unknown_events_and_another_connections_events_are_404(
    marketer: User, seeded: Connection
) -> None:
    other = Connection.objects.create(name="Other", slug="other", inbound_key="k2")
    batch = seeded.batches.first()
    assert batch is not None
    api = client_of(marketer)

    assert api.get(f"connections/{other.pk}/events/{batch.pk}-0").status_code == 404
    assert api.get(f"connections/{seeded.pk}/events/{batch.pk}-99").status_code == 404
    assert api.get(f"connections/{seeded.pk}/events/999999-0").status_code == 404
    assert api.get(f"connections/{seeded.pk}/events/1-x").status_code == 422
    assert api.get(f"connections/{seeded.pk}/events/{batch.pk}-0").status_code == 200
