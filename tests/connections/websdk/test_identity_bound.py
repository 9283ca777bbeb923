"""The identity store's bound (``MPBRAZE_IDENTITY_MAX_RECORDS``): a full store refuses new
identities with a 503 that says so, and still recognises the users it knows."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from connections.identity.models import IdentityRecord
from connections.models import Connection
from tests.connections.websdk.websdk_helpers import identity_body, post_identity

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_store(settings: Any) -> None:
    settings.MPBRAZE_IDENTITY_MAX_RECORDS = 3


def identify(client: Client, connection: Connection, **identities: str) -> Any:
    body = identity_body(**identities)
    return post_identity(client, "/identity/v1/identify", body, key=connection.web_key)


def test_a_full_store_refuses_a_new_identity_and_names_its_maximum(
    client: Client, connection: Connection, small_store: None
) -> None:
    for n in range(3):
        assert identify(client, connection, customerid=f"cust-{n}").status_code == 200
    refused = identify(client, connection, customerid="cust-new")
    assert refused.status_code == 503
    assert refused.json()["Errors"] == [
        {
            "code": "IDENTITY_STORE_FULL",
            "message": "The identity store of this connection holds its maximum of identities"
            " (3); known users still resolve.",
        }
    ]
    assert IdentityRecord.objects.filter(connection=connection).count() == 3


def test_a_full_store_still_resolves_the_users_it_knows(
    client: Client, connection: Connection, small_store: None
) -> None:
    mpids = [identify(client, connection, customerid=f"cust-{n}").json()["mpid"] for n in range(3)]
    again = identify(client, connection, customerid="cust-1")
    assert again.status_code == 200
    assert again.json()["mpid"] == mpids[1]


def test_a_modify_that_would_pass_the_maximum_is_refused(
    client: Client, connection: Connection, small_store: None
) -> None:
    mpid = identify(client, connection, customerid="cust-0").json()["mpid"]
    identify(client, connection, customerid="cust-1")
    body = {"identity_changes": [{"identity_type": "email", "new_value": "a@example.com"}]}
    assert (
        post_identity(
            client, f"/identity/v1/{mpid}/modify", body, key=connection.web_key
        ).status_code
        == 200
    )
    body = {"identity_changes": [{"identity_type": "other", "new_value": "o-1"}]}
    refused = post_identity(client, f"/identity/v1/{mpid}/modify", body, key=connection.web_key)
    assert refused.status_code == 503
    assert not IdentityRecord.objects.filter(identity_type="other").exists()


def test_the_bound_is_per_connection(
    client: Client, connection: Connection, small_store: None
) -> None:
    for n in range(3):
        identify(client, connection, customerid=f"cust-{n}")
    other = Connection.objects.create(name="Other", slug="other", inbound_key="mpb_other")
    assert identify(client, other, customerid="cust-new").status_code == 200
