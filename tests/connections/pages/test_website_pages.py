"""The connection page's website pieces: the web key, its rotation, the Web output's origins."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections.models import Connection
from tests.connections.pages.test_pages import output_form

pytestmark = pytest.mark.django_db


def test_a_marketer_sees_and_rotates_the_web_key(marketer: User, connection: Connection) -> None:
    client = Client()
    client.force_login(marketer)
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert connection.web_key in page
    before = connection.web_key
    asked = client.get(f"/connections/{connection.pk}/rotate-web-key/")
    assert "stops at once" in asked.content.decode()
    connection.refresh_from_db()
    assert connection.web_key == before  # asking changes nothing
    response = client.post(f"/connections/{connection.pk}/rotate-web-key/")
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.web_key != before
    assert connection.web_key in client.get(f"/connections/{connection.pk}/").content.decode()


def test_an_auditor_cannot_rotate_the_web_key(auditor: User, connection: Connection) -> None:
    client = Client()
    client.force_login(auditor)
    before = connection.web_key
    assert client.post(f"/connections/{connection.pk}/rotate-web-key/").status_code == 403
    connection.refresh_from_db()
    assert connection.web_key == before


def test_the_web_output_form_saves_allowed_origins(marketer: User, connection: Connection) -> None:
    client = Client()
    client.force_login(marketer)
    form = output_form(
        platform="web",
        api_key="web-app-key-0001",
        allowed_origins="https://Shop.example/\nhttp://127.0.0.1:8080",
    )
    response = client.post(f"/connections/{connection.pk}/outputs/new/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    output = connection.outputs.get(platform="web")
    assert output.allowed_origins == ["https://shop.example", "http://127.0.0.1:8080"]
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert "<code>https://shop.example</code>" in page


def test_a_bad_origin_is_named_on_the_form(marketer: User, connection: Connection) -> None:
    client = Client()
    client.force_login(marketer)
    form = output_form(platform="web", api_key="web-app-key-0001", allowed_origins="shop.example")
    response = client.post(f"/connections/{connection.pk}/outputs/new/", form)
    assert response.status_code == 200
    assert "“shop.example” must start with https://" in response.content.decode()
