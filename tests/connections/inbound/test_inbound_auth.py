"""Inbound API: who may post (Basic auth, ingest switch), methods and CSRF."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from connections.delivery.models import InboundBatch
from connections.models import Connection
from tests.connections.inbound_helpers import Sender, basic, error_body, sdk_batch

UNAUTHORIZED = error_body(
    "UNAUTHORIZED",
    "Authentication required: send HTTP Basic credentials "
    "(the connection's inbound key and secret).",
)
FORBIDDEN = error_body("FORBIDDEN", "The inbound key or secret is not valid.")


@pytest.fixture
def sender(client: Client, connection: Connection) -> Sender:
    return Sender(client, connection)


@pytest.mark.django_db
def test_it_answers_401_with_a_challenge_when_the_authorization_header_is_missing(
    sender: Sender,
) -> None:
    response = sender.post("/v2/events", sdk_batch(), HTTP_AUTHORIZATION="")

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith('Basic realm="mpbraze inbound"')
    assert not InboundBatch.objects.exists()


@pytest.mark.django_db
def test_it_answers_401_to_a_scheme_other_than_basic(sender: Sender) -> None:
    response = sender.post("/v2/events", sdk_batch(), HTTP_AUTHORIZATION="Bearer abc")

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Basic !!!not-base64!!!", id="undecodable_base64"),
        pytest.param("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), id="not_utf8"),
        pytest.param("Basic " + base64.b64encode(b"no-colon").decode(), id="no_colon"),
        pytest.param("Basic Og==", id="empty_key_and_secret_as_the_sdk_sends_them"),
        pytest.param("Basic", id="basic_without_credentials"),
        pytest.param(basic("mpb_\x00nul", "x"), id="nul_in_the_key"),
        pytest.param("Basic é", id="non_ascii_in_the_header"),
    ],
)
def test_it_answers_403_to_basic_credentials_it_cannot_read(sender: Sender, header: str) -> None:
    response = sender.post("/v2/events", sdk_batch(), HTTP_AUTHORIZATION=header)

    assert response.status_code == 403
    assert response.json() == FORBIDDEN


@pytest.mark.django_db
def test_it_answers_403_to_an_unknown_key(sender: Sender) -> None:
    response = sender.post(
        "/v2/events", sdk_batch(), HTTP_AUTHORIZATION=basic("mpb_unknown", sender.secret)
    )

    assert response.status_code == 403
    assert response.json() == FORBIDDEN


@pytest.mark.django_db
def test_it_answers_403_to_a_wrong_secret(sender: Sender) -> None:
    response = sender.post(
        "/v2/events", sdk_batch(), HTTP_AUTHORIZATION=basic(sender.key, "wrong-secret")
    )

    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert not InboundBatch.objects.exists()


@pytest.mark.django_db
def test_it_refuses_batches_with_403_while_ingest_is_off(sender: Sender) -> None:
    Connection.objects.filter(pk=sender.connection.pk).update(ingest_enabled=False)

    response = sender.post("/v2/events", sdk_batch())

    assert response.status_code == 403
    assert response.json() == error_body(
        "INGEST_DISABLED",
        "Connection “Shop app” is disabled for ingest: batches are refused "
        "until ingest is turned on again.",
    )
    assert not InboundBatch.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "state",
    [{"paused_reason": "Braze answered 401"}, {"enabled": False}],
    ids=["paused", "disabled"],
)
def test_it_still_accepts_batches_for_a_paused_or_disabled_connection(
    sender: Sender, state: dict[str, object]
) -> None:
    Connection.objects.filter(pk=sender.connection.pk).update(**state)

    response = sender.post("/v2/events", sdk_batch())

    assert response.status_code == 202
    assert InboundBatch.objects.filter(connection=sender.connection).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/v2/events", "/v2/bulkevents", "/v2/bulkevents/historical"])
def test_it_answers_405_with_a_json_body_to_other_methods(
    client: Client, method: str, path: str
) -> None:
    response = client.generic(method, path)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == error_body(
        "METHOD_NOT_ALLOWED", f"{method} is not supported here: POST a JSON body."
    )


@pytest.mark.django_db
def test_it_needs_no_csrf_token(connection: Connection) -> None:
    sender = Sender(Client(enforce_csrf_checks=True), connection)

    response = sender.post("/v2/events", sdk_batch())

    assert response.status_code == 202
