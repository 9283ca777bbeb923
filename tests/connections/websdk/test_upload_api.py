"""``POST /v3/JS/{web key}/events``: the Web SDK's uploads get /v2/events' checks and storage."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from connections.models import Connection, DeliveryMode, InboundBatch
from tests.conftest import add_output
from tests.connections.inbound_helpers import Sender
from tests.connections.websdk.websdk_helpers import SITE, post_upload, sdk_upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site(connection: Connection) -> Connection:
    add_output(connection, "web", "web-app-key", allowed_origins=SITE)
    return connection


def test_an_upload_from_an_allowed_site_is_stored_and_granted(
    client: Client, site: Connection
) -> None:
    response = post_upload(client, site.web_key, sdk_upload(), Origin=SITE)
    assert (response.status_code, response.content) == (202, b"")
    assert response["Access-Control-Allow-Origin"] == SITE
    batch = InboundBatch.objects.get(connection=site)
    assert batch.payload["mpid"] == "4242"
    assert batch.payload["events"][0]["data"]["event_name"] == "Viewed Shoes"


def test_a_repeated_upload_is_accepted_and_stored_once(client: Client, site: Connection) -> None:
    first = post_upload(client, site.web_key, sdk_upload(), Origin=SITE)
    again = post_upload(client, site.web_key, sdk_upload(mpid="9"), Origin=SITE)
    assert (first.status_code, again.status_code) == (202, 202)
    assert InboundBatch.objects.filter(connection=site).count() == 1


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[]", {"events": [{"data": {}}]}, {"events": "all of them"}],
)
def test_a_bad_body_gets_the_same_400_as_the_events_api(
    client: Client, site: Connection, body: Any
) -> None:
    via_sdk = post_upload(client, site.web_key, body, Origin=SITE)
    via_api = Sender(client, site).post("/v2/events", body)
    assert via_sdk.status_code == via_api.status_code == 400
    assert via_sdk.json() == via_api.json()
    assert via_sdk["Access-Control-Allow-Origin"] == SITE  # the page can read why
    assert not InboundBatch.objects.exists()


def test_an_oversized_upload_is_a_413(client: Client, site: Connection, settings: Any) -> None:
    settings.MPBRAZE_INBOUND_MAX_REQUEST_BYTES = 1000
    response = post_upload(client, site.web_key, sdk_upload(padding="x" * 2000), Origin=SITE)
    assert response.status_code == 413
    assert not InboundBatch.objects.exists()


def test_a_full_queue_is_a_429_the_sdk_retries(
    client: Client, site: Connection, settings: Any
) -> None:
    """Server-side mode: uploads wait to be mapped, and too many waiting refuse more."""
    site.outputs.filter(platform="web").update(delivery_mode=DeliveryMode.SERVER_SIDE)
    settings.MPBRAZE_INBOUND_MAX_PENDING_BATCHES = 1
    post_upload(client, site.web_key, sdk_upload(source_request_id="a"), Origin=SITE)
    post_upload(client, site.web_key, sdk_upload(source_request_id="b"), Origin=SITE)
    response = post_upload(client, site.web_key, sdk_upload(source_request_id="c"), Origin=SITE)
    assert response.status_code == 429
    assert response["Retry-After"] == "30"


def test_ingest_off_refuses_uploads(client: Client, site: Connection) -> None:
    Connection.objects.filter(pk=site.pk).update(ingest_enabled=False)
    assert post_upload(client, site.web_key, sdk_upload(), Origin=SITE).status_code == 403
    assert not InboundBatch.objects.exists()


def test_an_unknown_web_key_is_a_401_that_names_no_connection(
    client: Client, site: Connection
) -> None:
    for key in ("mpw_unknown", site.inbound_key, "mpw_" + "0" * 32, "no%20spaces"):
        response = post_upload(client, key, sdk_upload(), Origin=SITE)
        assert response.status_code == 401
        assert response.json() == {
            "errors": [{"code": "UNAUTHORIZED", "message": "The web key is not valid."}]
        }
    assert not InboundBatch.objects.exists()


def test_another_site_gets_no_grant_and_nothing_is_stored(client: Client, site: Connection) -> None:
    response = post_upload(client, site.web_key, sdk_upload(), Origin="https://evil.example")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not InboundBatch.objects.exists()


def test_no_allowed_origin_means_every_site_is_refused(
    client: Client, connection: Connection
) -> None:
    add_output(connection, "web", "web-app-key")
    response = post_upload(client, connection.web_key, sdk_upload(), Origin=SITE)
    assert response.status_code == 403


def test_the_preflight_grants_only_an_allowed_site(client: Client, site: Connection) -> None:
    path = f"/v3/JS/{site.web_key}/events"
    granted = client.options(path, headers={"Origin": SITE})
    assert granted.status_code == 204
    assert granted["Access-Control-Allow-Origin"] == SITE
    assert "POST" in granted["Access-Control-Allow-Methods"]
    refused = client.options(path, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in refused
    unknown = client.options("/v3/JS/mpw_nope/events", headers={"Origin": SITE})
    assert "Access-Control-Allow-Origin" not in unknown
