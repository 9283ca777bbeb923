"""The derived status is part of the REST API: the same ``health`` the pages show, in the
list, in each connection and in the OpenAPI document."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client

from connections import lifecycle, services
from connections.connectivity.health import STATES, connections_health
from connections.connectivity.models import ConnectivityCheck
from connections.models import BrazeOutput, Connection
from tests.connections.api_helpers import ApiClient

pytestmark = pytest.mark.django_db


def test_a_connection_carries_the_health_the_pages_show(
    api: ApiClient, output: BrazeOutput
) -> None:
    lifecycle.connection_pause(connection=output.connection, reason="Braze answered 401.")
    connection = Connection.objects.get()
    expected = connections_health([connection])[connection.pk]

    health = api.get(f"connections/{connection.pk}").json()["health"]

    assert health["state"] == "paused"
    assert health["label"] == "Paused"
    assert health["reason"] == expected.detail
    assert health["reason"].endswith("Braze answered 401. Test the connection after fixing it.")
    since = datetime.fromisoformat(health["since"].replace("Z", "+00:00"))
    assert connection.paused_at is not None
    assert abs(since - connection.paused_at) < timedelta(milliseconds=1)


def test_the_list_carries_each_connections_health(api: ApiClient, output: BrazeOutput) -> None:
    services.connection_create(name="Zeta app")
    ConnectivityCheck.objects.create(
        connection_id=output.connection_id, output=output, outcome="failed", summary="401"
    )
    items = api.get("connections").json()["items"]
    assert [(i["name"], i["health"]["state"]) for i in items] == [
        ("Shop app", "failing"),
        ("Zeta app", "incomplete"),
    ]
    assert items[0]["health"]["reason"] == "Last test failed: 401"
    assert items[1]["health"]["since"] is None


def test_the_openapi_document_describes_health_and_its_states(client: Client) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    connection = schemas["ConnectionOut"]
    assert "health" in connection["required"]
    health = schemas["ConnectionHealthOut"]
    assert health["properties"]["state"]["enum"] == list(STATES)
    assert set(health["required"]) >= {"state", "reason", "since"}
    assert (
        "/api/v1/connections/{pk}/retry-now" in client.get("/api/v1/openapi.json").json()["paths"]
    )
