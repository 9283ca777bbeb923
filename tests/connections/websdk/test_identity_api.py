"""The Identity API as the Web SDK calls it: MPIDs issued and remembered, bad requests named."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from connections.identity.models import IdentityRecord
from connections.models import Connection
from tests.conftest import add_output
from tests.connections.websdk.websdk_helpers import SITE, identity_body, post_identity

pytestmark = pytest.mark.django_db

IDENTIFY = "/identity/v1/identify"
LOGIN = "/identity/v1/login"
LOGOUT = "/identity/v1/logout"


def mpid_of(client: Client, connection: Connection, path: str, **identities: Any) -> str:
    response = post_identity(client, path, identity_body(**identities), key=connection.web_key)
    assert response.status_code == 200, response.content
    return str(response.json()["mpid"])


def test_an_identify_answers_what_the_sdk_reads(client: Client, connection: Connection) -> None:
    body = identity_body(customerid="cust-1", email="jane@example.com")
    answer = post_identity(client, IDENTIFY, body, key=connection.web_key).json()
    assert answer["is_logged_in"] is True
    assert answer["matched_identities"] == {"customerid": "cust-1", "email": "jane@example.com"}
    assert answer["mpid"].isdigit()
    assert int(answer["mpid"]) > 0
    stored = IdentityRecord.objects.filter(connection=connection, mpid=int(answer["mpid"]))
    assert sorted(stored.values_list("identity_type", flat=True)) == ["customerid", "email"]


def test_a_customer_id_keeps_its_mpid_across_devices_and_methods(
    client: Client, connection: Connection
) -> None:
    first = mpid_of(client, connection, IDENTIFY, stamp="laptop", customerid="cust-1")
    assert mpid_of(client, connection, LOGIN, stamp="phone", customerid="cust-1") == first
    assert mpid_of(client, connection, IDENTIFY, stamp="tablet", customerid="cust-2") != first


def test_an_anonymous_device_gets_its_own_mpid_and_keeps_it(
    client: Client, connection: Connection
) -> None:
    anonymous = mpid_of(client, connection, IDENTIFY, stamp="laptop")
    known = mpid_of(client, connection, LOGIN, stamp="laptop", customerid="cust-1")
    assert anonymous != known
    assert mpid_of(client, connection, LOGOUT, stamp="laptop") == anonymous
    answer = post_identity(client, LOGOUT, identity_body(stamp="laptop"), key=connection.web_key)
    assert answer.json()["is_logged_in"] is False


def test_connections_keep_separate_identity_stores(client: Client, connection: Connection) -> None:
    other = Connection.objects.create(name="Other", slug="other", inbound_key="mpb_other")
    assert mpid_of(client, connection, IDENTIFY, customerid="cust-1") != mpid_of(
        client, other, IDENTIFY, customerid="cust-1"
    )


def test_a_modify_gives_the_user_a_new_identity(client: Client, connection: Connection) -> None:
    mpid = mpid_of(client, connection, IDENTIFY, customerid="cust-1")
    body = {
        "identity_changes": [
            {"identity_type": "email", "old_value": None, "new_value": "jane@example.com"}
        ]
    }
    response = post_identity(client, f"/identity/v1/{mpid}/modify", body, key=connection.web_key)
    assert response.json() == {
        "change_results": [{"identity_type": "email", "modified_mpid": mpid}]
    }
    assert mpid_of(client, connection, IDENTIFY, email="jane@example.com") == mpid


def test_a_modify_refuses_an_identity_of_another_user(
    client: Client, connection: Connection
) -> None:
    mpid = mpid_of(client, connection, IDENTIFY, customerid="cust-1")
    mpid_of(client, connection, IDENTIFY, customerid="cust-2", email="taken@example.com")
    body = {"identity_changes": [{"identity_type": "email", "new_value": "taken@example.com"}]}
    response = post_identity(client, f"/identity/v1/{mpid}/modify", body, key=connection.web_key)
    assert response.status_code == 400
    assert response.json()["Errors"][0]["message"] == (
        "identity_changes: the email belongs to another user."
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "The request body is empty"),
        (b"{", "The body is not valid JSON"),
        (b"[]", "The body must be a JSON object."),
        ({"known_identities": "cust-1"}, "known_identities: required, a JSON object"),
        ({"known_identities": {"shoe_size": "42"}}, "known_identities.shoe_size: not an identity"),
        ({"known_identities": {"customerid": 42}}, "known_identities.customerid: must be a non-"),
        ({"known_identities": {"email": "x" * 513}}, "known_identities.email: at most 512"),
    ],
)
def test_a_malformed_identity_body_is_a_400_naming_the_field(
    client: Client, connection: Connection, body: Any, message: str
) -> None:
    response = post_identity(client, IDENTIFY, body, key=connection.web_key)
    assert response.status_code == 400
    assert response.json()["Errors"][0]["message"].startswith(message)
    assert response.json()["StatusCode"] == 400
    assert not IdentityRecord.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (None, "identity_changes: required, a JSON array"),
        ([{"identity_type": "email", "new_value": "a@example.com"}] * 21, "identity_changes: requ"),
        (["email"], "identity_changes[0]: a change must be a JSON object."),
        ([{"identity_type": ["email"]}], "identity_changes[0].identity_type: not an identity"),
        ([{"identity_type": "shoe_size"}], "identity_changes[0].identity_type: not an identity"),
        ([{"identity_type": "email", "new_value": 7}], "identity_changes[0].new_value: must be"),
    ],
)
def test_a_malformed_modify_body_is_a_400_naming_the_field(
    client: Client, connection: Connection, changes: Any, message: str
) -> None:
    mpid = mpid_of(client, connection, IDENTIFY, customerid="cust-1")
    body = {"identity_changes": changes}
    response = post_identity(client, f"/identity/v1/{mpid}/modify", body, key=connection.web_key)
    assert response.status_code == 400
    assert response.json()["Errors"][0]["message"].startswith(message)
    assert IdentityRecord.objects.count() == 1


@pytest.mark.parametrize("key", ["", "mpw_0000", "mpw_" + "0" * 32, "bad key\x00"])
def test_an_unknown_web_key_is_a_401_with_no_body(
    client: Client, connection: Connection, key: str
) -> None:
    response = post_identity(client, IDENTIFY, identity_body(customerid="c"), key=key)
    assert (response.status_code, response.content) == (401, b"")
    assert not IdentityRecord.objects.exists()


def test_the_inbound_key_is_not_a_web_key(client: Client, connection: Connection) -> None:
    response = post_identity(client, IDENTIFY, identity_body(), key=connection.inbound_key)
    assert response.status_code == 401


def test_wrong_web_keys_from_one_address_are_throttled(
    client: Client, connection: Connection, settings: Any
) -> None:
    settings.MPBRAZE_WEB_KEY_ADDRESS_FAILURES_PER_MINUTE = 3
    statuses = [
        post_identity(client, IDENTIFY, identity_body(), key="mpw_wrong").status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_identity_requests_are_throttled_per_address(
    client: Client, connection: Connection, settings: Any
) -> None:
    settings.MPBRAZE_IDENTITY_REQUESTS_PER_MINUTE = 5
    responses = [
        post_identity(client, IDENTIFY, identity_body(stamp=f"s{n}"), key=connection.web_key)
        for n in range(6)
    ]
    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert int(responses[-1]["Retry-After"]) > 0
    assert IdentityRecord.objects.count() == 5


def test_an_allowed_site_gets_a_cors_grant_and_preflight(
    client: Client, connection: Connection
) -> None:
    add_output(connection, "web", "web-app-key", allowed_origins=SITE)
    preflight = client.options(IDENTIFY, headers={"Origin": SITE})
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == SITE
    assert "x-mp-key" in preflight["Access-Control-Allow-Headers"]
    body = identity_body(customerid="c")
    response = post_identity(client, IDENTIFY, body, key=connection.web_key, Origin=SITE)
    assert response["Access-Control-Allow-Origin"] == SITE


def test_another_site_gets_no_cors_grant(client: Client, connection: Connection) -> None:
    add_output(connection, "web", "web-app-key", allowed_origins=SITE)
    other = "http://evil.example"
    assert "Access-Control-Allow-Origin" not in client.options(IDENTIFY, headers={"Origin": other})
    body = identity_body(customerid="c")
    response = post_identity(client, IDENTIFY, body, key=connection.web_key, Origin=other)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not IdentityRecord.objects.exists()
