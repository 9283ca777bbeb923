"""The Web SDK's alias requests (``/v1/identity/{web key}/Alias``): recorded once, for users of
the connection, with bad requests named in the ``{code, message}`` the SDK reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from connections.delivery.retention import retention_prune
from connections.identity.models import IdentityAlias
from connections.models import Connection
from tests.conftest import add_output
from tests.connections.websdk.websdk_helpers import SITE, identity_body, post_alias, post_identity

pytestmark = pytest.mark.django_db

START_MS = 1_760_000_000_000
END_MS = 1_760_000_600_000


def alias_body(source: Any, destination: Any, **fields: Any) -> dict[str, Any]:
    """An alias request as ``createAliasNetworkRequest`` of ``@mparticle/web-sdk`` builds it."""
    body: dict[str, Any] = {
        "request_id": "7c0b1e0a-0000-4000-8000-000000000001",
        "request_type": "alias",
        "environment": "production",
        "api_key": "mpw_ignored",
        "data": {
            "destination_mpid": destination,
            "source_mpid": source,
            "start_unixtime_ms": START_MS,
            "end_unixtime_ms": END_MS,
            "scope": "mpid",
            "device_application_stamp": "stamp-1",
        },
    }
    body.update(fields)
    return body


def users(client: Client, connection: Connection) -> tuple[str, str]:
    """The anonymous MPID of a device, and the known user it logs in as."""
    key = connection.web_key
    anonymous = post_identity(client, "/identity/v1/identify", identity_body(), key=key)
    known = post_identity(client, "/identity/v1/login", identity_body(customerid="cust-1"), key=key)
    return str(anonymous.json()["mpid"]), str(known.json()["mpid"])


def test_an_alias_of_the_anonymous_user_to_the_known_one_is_recorded(
    client: Client, connection: Connection
) -> None:
    anonymous, known = users(client, connection)
    response = post_alias(client, connection.web_key, alias_body(anonymous, known))
    assert response.status_code == 202
    alias = IdentityAlias.objects.get(connection=connection)
    assert (alias.source_mpid, alias.destination_mpid) == (int(anonymous), int(known))
    assert alias.starts_at == datetime.fromtimestamp(START_MS / 1000, tz=UTC)
    assert alias.ends_at - alias.starts_at == timedelta(minutes=10)


def test_a_request_sent_again_is_recorded_once(client: Client, connection: Connection) -> None:
    anonymous, known = users(client, connection)
    for _ in range(2):
        assert (
            post_alias(client, connection.web_key, alias_body(anonymous, known)).status_code == 202
        )
    assert IdentityAlias.objects.filter(connection=connection).count() == 1


def test_an_mpid_of_no_user_of_the_connection_is_named(
    client: Client, connection: Connection
) -> None:
    other = Connection.objects.create(name="Other", slug="other", inbound_key="mpb_other")
    anonymous, known = users(client, connection)
    stranger = post_identity(
        client, "/identity/v1/identify", identity_body(customerid="x"), key=other.web_key
    ).json()["mpid"]
    response = post_alias(client, connection.web_key, alias_body(stranger, known))
    assert response.status_code == 400
    assert response.json() == {
        "code": "BAD_REQUEST",
        "message": "data.source_mpid: no user of this connection has this MPID.",
    }
    response = post_alias(client, connection.web_key, alias_body(anonymous, "12345"))
    assert response.json()["message"].startswith("data.destination_mpid: no user")
    assert not IdentityAlias.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"request_type": "identify"}, "request_type"),
        ({"request_id": ""}, "request_id"),
        ({"request_id": "x" * 65}, "request_id"),
        ({"request_id": 7}, "request_id"),
        ({"data": None}, "data"),
        ({"data": []}, "data"),
        ({"data.source_mpid": "abc"}, "data.source_mpid"),
        ({"data.source_mpid": "0"}, "data.source_mpid"),
        ({"data.source_mpid": "-5"}, "data.source_mpid"),
        ({"data.source_mpid": str(2**63)}, "data.source_mpid"),
        ({"data.source_mpid": 1.5}, "data.source_mpid"),
        ({"data.destination_mpid": None}, "data.destination_mpid"),
        ({"data.destination_mpid": "111"}, "data.destination_mpid"),  # the source itself
        ({"data.start_unixtime_ms": None}, "data.start_unixtime_ms"),
        ({"data.start_unixtime_ms": True}, "data.start_unixtime_ms"),
        ({"data.start_unixtime_ms": "1760000000000"}, "data.start_unixtime_ms"),
        ({"data.end_unixtime_ms": 10**20}, "data.end_unixtime_ms"),
        ({"data.start_unixtime_ms": END_MS + 1}, "data.start_unixtime_ms"),
    ],
)
def test_a_malformed_alias_request_is_a_400_naming_the_field(
    client: Client, connection: Connection, change: dict[str, Any], field: str
) -> None:
    body = alias_body("111", "222")
    for path, value in change.items():
        if path.startswith("data."):
            body["data"][path.removeprefix("data.")] = value
        else:
            body[path] = value
    response = post_alias(client, connection.web_key, body)
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}: ")


@pytest.mark.parametrize("body", [b"", b"{not json", b"[1]", "\u00e9".encode("latin-1")])
def test_a_body_that_is_not_a_json_object_is_a_400(
    client: Client, connection: Connection, body: bytes
) -> None:
    response = post_alias(client, connection.web_key, body)
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"


def test_an_unknown_web_key_is_a_401_without_a_body(client: Client, connection: Connection) -> None:
    response = post_alias(client, "mpw_unknown", alias_body("111", "222"))
    assert response.status_code == 401
    assert response.content == b""


def test_only_the_allowed_origins_get_a_cors_grant(client: Client, connection: Connection) -> None:
    add_output(connection, "web", "web-app-key-0001", allowed_origins=SITE)
    anonymous, known = users(client, connection)
    key = connection.web_key
    preflight = client.options(f"/v1/identity/{key}/Alias", headers={"Origin": SITE})
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == SITE
    assert "Content-Type" in preflight["Access-Control-Allow-Headers"]
    elsewhere = client.options(
        f"/v1/identity/{key}/Alias", headers={"Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in elsewhere
    refused = post_alias(client, key, alias_body(anonymous, known), Origin="https://evil.example")
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused
    granted = post_alias(client, key, alias_body(anonymous, known), Origin=SITE)
    assert granted.status_code == 202
    assert granted["Access-Control-Allow-Origin"] == SITE


def test_alias_requests_count_as_identity_requests_of_the_address(
    client: Client, connection: Connection, settings: Any
) -> None:
    settings.MPBRAZE_IDENTITY_REQUESTS_PER_MINUTE = 3
    anonymous, known = users(client, connection)
    assert post_alias(client, connection.web_key, alias_body(anonymous, known)).status_code == 202
    refused = post_alias(client, connection.web_key, alias_body(anonymous, known))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


def test_alias_requests_go_with_the_batches_retention(
    client: Client, connection: Connection, settings: Any
) -> None:
    anonymous, known = users(client, connection)
    post_alias(client, connection.web_key, alias_body(anonymous, known))
    post_alias(client, connection.web_key, alias_body(anonymous, known, request_id="second"))
    old = timezone.now() - timedelta(days=settings.MPBRAZE_BATCH_RETENTION_DAYS + 1)
    IdentityAlias.objects.filter(request_id="second").update(created_at=old)
    report = retention_prune()
    assert report.identity_aliases == 1
    assert list(IdentityAlias.objects.values_list("request_id", flat=True)) == [
        alias_body(0, 0)["request_id"]
    ]
