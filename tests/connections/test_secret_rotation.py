"""Inbound secrets: shown once in the answer that made them, never in a session row; a rotation
asks first and can keep the previous secret working for a while."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections import services
from connections.models import Connection
from tests.connections.inbound_helpers import basic, sdk_batch

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rotate_url(connection: Connection) -> str:
    return reverse("connection_rotate_secret", args=[connection.pk])


def every_session_decoded() -> str:
    """Every session row as stored and as decoded: what a database dump would give away."""
    rows = Session.objects.all()
    return "\n".join(f"{row.session_data}\n{row.get_decoded()!r}" for row in rows)


def accepted(connection: Connection, secret: str) -> bool:
    """Whether the inbound API takes a batch signed with this secret (202) or refuses it (403)."""
    auth = basic(connection.inbound_key, secret)
    response = Client().post(
        "/v2/events", sdk_batch(), content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    assert response.status_code in (202, 403), response.content
    return response.status_code == 202


def rotate(client: Client, connection: Connection, hours: str) -> str:
    response = client.post(rotate_url(connection), {"overlap_hours": hours})
    assert response.status_code == 200
    secret: str = response.context["secret"]
    return secret


def test_a_created_connection_shows_its_secret_in_the_answer_and_in_no_session(
    marketer: User,
) -> None:
    client = signed_in(marketer)
    response = client.post(reverse("connection_create"), {"name": "Shop app"})
    connection = Connection.objects.get()
    secret = response.context["secret"]
    page = response.content.decode()

    assert response.status_code == 200
    assert page.count(secret) == 1
    assert connection.inbound_key in page
    assert "/v2</code>" in page
    assert connection.get_absolute_url() in page
    assert "no-store" in response["Cache-Control"]
    assert services.inbound_secret_matches(connection, secret)
    assert Session.objects.exists()
    assert secret not in every_session_decoded()
    assert secret not in client.get(connection.get_absolute_url()).content.decode()


def test_a_rotated_secret_is_shown_in_the_answer_and_in_no_session(
    marketer: User, connection: Connection
) -> None:
    client = signed_in(marketer)
    secret = rotate(client, connection, "24")

    assert secret not in every_session_decoded()
    again = client.get(connection.get_absolute_url()).content.decode()
    assert secret not in again
    assert "hidden (stored hashed)" in again


def test_the_rotate_button_leads_to_a_confirmation_that_changes_nothing(
    marketer: User, connection: Connection
) -> None:
    client = signed_in(marketer)
    detail = client.get(connection.get_absolute_url()).content.decode()
    assert f'href="{rotate_url(connection)}"' in detail
    assert f'action="{rotate_url(connection)}"' not in detail  # no one-click POST form

    before = connection.inbound_secret_hash
    page = client.get(rotate_url(connection)).content.decode()

    assert "Rotate the inbound secret of Shop app?" in page
    assert re.findall(r'<input[^>]*value="(\d+)"[^>]*checked', page) == ["24"]
    assert "No time: it stops now" in page
    connection.refresh_from_db()
    assert connection.inbound_secret_hash == before
    assert connection.previous_secret_hash == ""


def test_the_previous_secret_keeps_working_for_the_chosen_overlap_and_the_page_says_until_when(
    marketer: User,
) -> None:
    connection, old = services.connection_create(name="Shop app")
    client = signed_in(marketer)
    response = client.post(rotate_url(connection), {"overlap_hours": "24"})
    new = response.context["secret"]
    connection.refresh_from_db()

    expires = connection.previous_secret_expires_at
    assert expires is not None
    assert abs(expires - (timezone.now() + timedelta(hours=24))) < timedelta(minutes=1)
    until = f"The previous secret works until {expires:%Y-%m-%d %H:%M} UTC"
    assert until in response.content.decode()
    assert until in client.get(connection.get_absolute_url()).content.decode()
    assert accepted(connection, old)
    assert accepted(connection, new)


def test_the_previous_secret_is_refused_once_its_overlap_has_ended(marketer: User) -> None:
    connection, old = services.connection_create(name="Shop app")
    new = rotate(signed_in(marketer), connection, "1")
    # An hour later: the expiry is in the past.
    past = timezone.now() - timedelta(seconds=1)
    Connection.objects.filter(pk=connection.pk).update(previous_secret_expires_at=past)

    assert not accepted(connection, old)
    assert accepted(connection, new)
    page = signed_in(marketer).get(connection.get_absolute_url()).content.decode()
    assert "The previous secret works until" not in page


def test_rotating_with_no_overlap_stops_the_previous_secret_at_once(marketer: User) -> None:
    connection, old = services.connection_create(name="Shop app")
    response = signed_in(marketer).post(rotate_url(connection), {"overlap_hours": "0"})

    assert not accepted(connection, old)
    assert accepted(connection, response.context["secret"])
    assert "The previous secret no longer works" in response.content.decode()
    connection.refresh_from_db()
    assert (connection.previous_secret_hash, connection.previous_secret_expires_at) == ("", None)


def test_a_second_rotation_ends_the_first_overlap(marketer: User) -> None:
    connection, first = services.connection_create(name="Shop app")
    client = signed_in(marketer)
    second = rotate(client, connection, "168")
    assert "stops now" in client.get(rotate_url(connection)).content.decode()
    third = rotate(client, connection, "1")

    assert not accepted(connection, first)
    assert accepted(connection, second)
    assert accepted(connection, third)


def test_an_overlap_not_offered_is_refused_on_the_form(
    marketer: User, connection: Connection
) -> None:
    before = connection.inbound_secret_hash
    response = signed_in(marketer).post(rotate_url(connection), {"overlap_hours": "9999"})

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    connection.refresh_from_db()
    assert connection.inbound_secret_hash == before


def test_an_auditor_can_neither_open_nor_confirm_a_rotation(
    auditor: User, connection: Connection
) -> None:
    client = signed_in(auditor)
    assert client.get(rotate_url(connection)).status_code == 403
    assert client.post(rotate_url(connection), {"overlap_hours": "0"}).status_code == 403


def test_the_previous_secret_is_kept_out_of_the_history() -> None:
    fields = {f.name for f in Connection.history.model._meta.get_fields()}
    assert not fields & {
        "inbound_secret_hash",
        "previous_secret_hash",
        "previous_secret_expires_at",
    }
