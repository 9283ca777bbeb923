"""``POST /v1/JS/{web key}/Forwarding``: the reports the Web SDK sends for each event its kit
forwarded stay at mpbraze (answered 202, kept nowhere) instead of going to mParticle."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from connections.models import Connection, InboundBatch
from tests import responses
from tests.conftest import add_output
from tests.connections.websdk.websdk_helpers import SITE

pytestmark = pytest.mark.django_db

# As @mparticle/web-sdk 2.68.0 builds it (prepareForwardingStats) for a custom event.
REPORT = {
    "mid": 28,
    "esid": None,
    "n": "Viewed Shoes",
    "attrs": {"size": "42"},
    "sdk": "2.68.0",
    "dt": 4,
    "et": 1,
    "dbg": True,
    "ct": 1_760_000_000_000,
    "eec": 0,
}


@pytest.fixture
def site(connection: Connection) -> Connection:
    add_output(connection, "web", "web-app-key", allowed_origins=SITE)
    return connection


def post_report(client: Client, key: str, body: Any, **headers: str) -> responses.TestResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic(
        "POST",
        f"/v1/JS/{key}/Forwarding",
        data=data,
        content_type="text/plain;charset=UTF-8",
        headers=headers,
    )


def test_a_report_from_an_allowed_site_is_accepted_and_kept_nowhere(
    client: Client, site: Connection
) -> None:
    response = post_report(client, site.web_key, REPORT, Origin=SITE)
    assert (response.status_code, response.content) == (202, b"")
    assert response["Access-Control-Allow-Origin"] == SITE
    assert not InboundBatch.objects.exists()


def test_a_report_from_another_site_is_a_403_without_a_grant(
    client: Client, site: Connection
) -> None:
    response = post_report(client, site.web_key, REPORT, Origin="https://evil.example")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response


def test_an_unknown_web_key_is_a_401(client: Client, site: Connection) -> None:
    assert post_report(client, "mpw_nope", REPORT, Origin=SITE).status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "The request body is empty"),
        (b"{", "The body is not valid JSON"),
        ([REPORT], "The body must be a JSON object"),
        ({**REPORT, "mid": None}, "mid: the kit's module id must be an integer"),
        ({**REPORT, "mid": "28"}, "mid: the kit's module id must be an integer"),
        ({"n": "Viewed Shoes"}, "mid: the kit's module id must be an integer"),
    ],
)
def test_a_malformed_report_is_a_400_naming_the_problem(
    client: Client, site: Connection, body: Any, message: str
) -> None:
    response = post_report(client, site.web_key, body, Origin=SITE)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith(message)
    assert response["Access-Control-Allow-Origin"] == SITE  # the page can read why


def test_an_oversized_report_is_a_413(client: Client, site: Connection, settings: Any) -> None:
    settings.MPBRAZE_INBOUND_MAX_REQUEST_BYTES = 100
    response = post_report(client, site.web_key, {**REPORT, "n": "x" * 200}, Origin=SITE)
    assert response.status_code == 413


def test_a_preflight_is_granted_to_allowed_sites_only(client: Client, site: Connection) -> None:
    path = f"/v1/JS/{site.web_key}/Forwarding"
    allowed = client.options(path, headers={"Origin": SITE})
    refused = client.options(path, headers={"Origin": "https://evil.example"})
    assert (allowed.status_code, allowed["Access-Control-Allow-Origin"]) == (204, SITE)
    assert allowed["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert "Access-Control-Allow-Origin" not in refused


def test_other_methods_are_a_405(client: Client, site: Connection) -> None:
    response = client.get(f"/v1/JS/{site.web_key}/Forwarding")
    assert (response.status_code, response["Allow"]) == (405, "POST, OPTIONS")
