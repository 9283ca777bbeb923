"""The Live events page and the JSON its script polls (issue 25, points 1, 2 and 4)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from connections.models import Connection, Delivery
from tests.connections.live.live_helpers import custom, outputs, receive

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def seeded(connection: Connection) -> Connection:
    outputs(connection)
    receive(connection, custom("Opened"), attributes={"plan": "gold"})
    return connection


def test_a_marketer_sees_each_event_with_its_fate_and_as_received(
    marketer: User, seeded: Connection
) -> None:
    response = signed_in(marketer).get(f"/connections/{seeded.pk}/events/")

    assert response.status_code == 200
    text = response.content.decode()
    assert text.count('class="live-event"') == 2
    assert "<code>custom_event</code> Opened" in text
    assert "queued" in text
    assert "&quot;event_name&quot;: &quot;Opened&quot;" in text  # the event as received
    assert "&quot;app_id&quot;: &quot;••••0001&quot;" in text  # the object as sent, masked
    assert 'href="?window=7d" id="live-refresh"' in text
    assert "live_events" in text
    assert "<script src=" in text


def test_the_connection_page_and_the_dashboard_link_to_it(
    marketer: User, seeded: Connection
) -> None:
    client = signed_in(marketer)
    link = f'href="/connections/{seeded.pk}/events/"'
    assert link in client.get(f"/connections/{seeded.pk}/").content.decode()
    assert link in client.get("/").content.decode()


def test_the_poll_answers_newer_rows_and_the_new_fate_of_rows_on_their_way(
    marketer: User, seeded: Connection
) -> None:
    client = signed_in(marketer)
    first = client.get(f"/connections/{seeded.pk}/events.json").json()
    assert (first["rows"], first["updates"]) == ([], {})
    later = receive(seeded, custom("Bought"), user="bo", mpid=8002)
    row = Delivery.objects.get(batch=later)
    Delivery.objects.filter(pk=row.pk).update(status="sent", sent_at=timezone.now())

    polled = client.get(
        f"/connections/{seeded.pk}/events.json",
        {"after": first["newest"], "refresh": f"{later.pk}-0,{later.pk}-attributes"},
    ).json()

    assert len(polled["rows"]) == 1
    assert "Bought" in polled["rows"][0]
    assert list(polled["updates"]) == [f"{later.pk}-0"]  # it has no attributes row
    assert "badge-fate-sent" in polled["updates"][f"{later.pk}-0"]
    again = client.get(f"/connections/{seeded.pk}/events.json", {"after": polled["newest"]})
    assert again.json()["rows"] == []


def test_a_redacting_connection_hides_identities_from_a_marketer_but_not_from_ops(
    marketer: User, ops: User, seeded: Connection
) -> None:
    Connection.objects.filter(pk=seeded.pk).update(redact_live_events=True)

    hidden = signed_in(marketer).get(f"/connections/{seeded.pk}/events/").content.decode()
    shown = signed_in(ops).get(f"/connections/{seeded.pk}/events/").content.decode()

    assert "gold" not in hidden
    assert "&quot;plan&quot;: &quot;••••&quot;" in hidden
    assert 'class="who">••••<' in hidden
    assert "gold" in shown
    assert 'class="who">ana<' in shown


def test_an_outsider_gets_403(outsider: User, seeded: Connection) -> None:
    client = signed_in(outsider)
    assert client.get(f"/connections/{seeded.pk}/events/").status_code == 403
    assert client.get(f"/connections/{seeded.pk}/events.json").status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"user": "u" * 256}, "user"),
        ({"fate": "lost"}, "fate"),
        ({"window": "1y"}, "window"),
        ({"cursor": "forged"}, "cursor"),
        ({"event_name": "a\x01b"}, "event_name"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(
    marketer: User, seeded: Connection, query: dict[str, str], field: str
) -> None:
    response = signed_in(marketer).get(f"/connections/{seeded.pk}/events/", query)

    assert response.status_code == 400
    assert f"{field}: " in response.content.decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"after": "forged"}, "after"),
        ({"refresh": "1-x"}, "refresh"),
        ({"platform": "p" * 41}, "platform"),
    ],
)
def test_a_bad_poll_is_a_400_naming_the_field(
    marketer: User, seeded: Connection, query: dict[str, str], field: str
) -> None:
    response = signed_in(marketer).get(f"/connections/{seeded.pk}/events.json", query)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_an_unknown_connection_is_404(marketer: User) -> None:
    assert signed_in(marketer).get("/connections/999999/events/").status_code == 404
