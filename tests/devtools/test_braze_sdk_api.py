"""The stand-in for Braze's SDK API answers and records as the Braze Web SDK expects, over
TLS with the tests' self-signed certificate for 127.0.0.1."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from devtools.fakebraze import BrazeSdkApi
from tests.e2e.tls import certificate

SITE = "http://127.0.0.1:8123"
# As the Braze Web SDK 4.9 (bundled by @mparticle/web-braze-kit 4.1.3) posts it.
DATA = {
    "respond_with": {"user_id": "cust-1", "config": {"config_time": 0}},
    "api_key": "web-app-key",
    "device_id": "d-1",
    "sdk_version": "4.9.0",
    "time": 1_760_000_000,
    "user_id": "cust-1",
    "events": [
        {"name": "ss", "time": 1_760_000_000.1, "data": {}, "session_id": "s-1"},
        {
            "name": "ce",
            "time": 1_760_000_000.2,
            "data": {"n": "Viewed Shoes", "p": {"size": "42"}},
            "session_id": "s-1",
            "user_id": "cust-1",
        },
    ],
}


@pytest.fixture
def client() -> Iterator[tuple[BrazeSdkApi, httpx.Client]]:
    with certificate() as made, BrazeSdkApi(context=made.server_context()) as api:
        trust = ssl.create_default_context(cafile=str(made.cert_file))
        with httpx.Client(base_url=api.url, verify=trust) as http:
            yield api, http


def test_a_preflight_grants_the_site_and_the_headers_it_asks_for(
    client: tuple[BrazeSdkApi, httpx.Client],
) -> None:
    _, http = client
    asked = "content-type,x-braze-api-key,x-requested-with"
    response = http.options(
        "/api/v3/data/",
        headers={"Origin": SITE, "Access-Control-Request-Headers": asked},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert response.headers["Access-Control-Allow-Headers"] == asked


def test_a_data_request_is_recorded_and_answered_with_configuration(
    client: tuple[BrazeSdkApi, httpx.Client],
) -> None:
    api, http = client
    response = http.post(
        "/api/v3/data/", json=DATA, headers={"Origin": SITE, "X-Braze-Api-Key": "web-app-key"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert response.json()["config"]["content_cards"] == {"enabled": False}
    [seen] = api.requests()
    assert (seen.api_key, seen.header_api_key, seen.user_id) == (
        "web-app-key",
        "web-app-key",
        "cust-1",
    )
    assert seen.custom_event_names() == ["Viewed Shoes"]
    assert seen.host == api.endpoint


def test_without_a_configuration_request_the_answer_is_an_empty_object(
    client: tuple[BrazeSdkApi, httpx.Client],
) -> None:
    _, http = client
    body = {**DATA, "respond_with": {"user_id": "cust-1"}}
    assert http.post("/api/v3/data/", json=body).json() == {}


def test_a_body_that_is_not_a_json_object_is_a_400_and_not_recorded(
    client: tuple[BrazeSdkApi, httpx.Client],
) -> None:
    api, http = client
    for body in (b"{", b"[]", b""):
        response = http.post("/api/v3/data/", content=body)
        assert response.status_code == 400
        assert response.json() == {"error": "The body must be a JSON object."}
    assert api.requests() == []


def test_a_path_outside_the_sdk_api_is_a_404(client: tuple[BrazeSdkApi, httpx.Client]) -> None:
    _, http = client
    assert http.post("/users/track", json={}).status_code == 404
