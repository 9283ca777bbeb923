"""The REST API's website pieces: the web key, its rotation and the Web output's origins."""

from __future__ import annotations

import pytest

from connections.models import Connection
from tests.connections.api_helpers import ApiClient

pytestmark = pytest.mark.django_db

WEB = {"platform": "web", "api_key": "web-app-key-0001"}


def test_the_web_key_is_read_and_rotated(api: ApiClient, connection: Connection) -> None:
    before = api.get(f"connections/{connection.pk}").json()["web_key"]
    assert before == connection.web_key
    assert before.startswith("mpw_")
    rotated = api.post(f"connections/{connection.pk}/rotate-web-key")
    assert rotated.status_code == 200
    assert rotated.json()["web_key"] not in (before, "")
    connection.refresh_from_db()
    assert connection.web_key == rotated.json()["web_key"]


def test_the_web_output_keeps_normalised_allowed_origins(
    api: ApiClient, connection: Connection
) -> None:
    url = f"connections/{connection.pk}/outputs"
    created = api.post(url, {**WEB, "allowed_origins": ["https://Shop.example/"]})
    assert created.status_code == 201, created.content
    assert created.json()["allowed_origins"] == ["https://shop.example"]
    kept = api.patch(f"{url}/web", {"external_identity_type": "email"})
    assert kept.json()["allowed_origins"] == ["https://shop.example"]
    cleared = api.patch(f"{url}/web", {"allowed_origins": []})
    assert cleared.json()["allowed_origins"] == []


def test_a_bad_origin_is_a_422_naming_the_field(api: ApiClient, connection: Connection) -> None:
    url = f"connections/{connection.pk}/outputs"
    response = api.post(url, {**WEB, "allowed_origins": ["https://shop.example/checkout"]})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"].endswith("allowed_origins")
    assert "must be a site only" in error["message"]
