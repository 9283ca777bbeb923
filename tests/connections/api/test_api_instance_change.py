"""``POST /connections/{id}/change-instance`` (issue 20, point 3): the page's action over the
API, with the page's rules, a dry run first and errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from connections.connectivity.models import ConnectivityCheck
from connections.models import Connection
from tests.conftest import add_output
from tests.connections.api_helpers import ApiClient
from tests.connections.pages.test_pages import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def split_connection(connection: Connection) -> Connection:
    add_output(connection, "ios", "ios-app-key-0001", braze_instance="US-03")
    add_output(
        connection,
        "server",
        "rest-key-0002",
        braze_instance="custom",
        custom_rest_endpoint="rest.iad-03.braze.com",
    )
    return connection


def path(connection: Connection) -> str:
    return f"connections/{connection.pk}/change-instance"


def stored(connection: Connection) -> dict[str, tuple[str, str]]:
    return {
        o.platform: (o.braze_instance, o.custom_rest_endpoint) for o in connection.outputs.all()
    }


def test_without_confirm_it_answers_the_changes_and_writes_nothing(
    api: ApiClient, split_connection: Connection
) -> None:
    response = api.post(path(split_connection), {"braze_instance": "EU-01"})

    assert response.status_code == 200
    body = response.json()
    assert body["confirmed"] is False
    assert [(c["platform"], c["field"], c["before"], c["after"]) for c in body["changes"]] == [
        ("ios", "braze_instance", "US-03", "EU-01"),
        ("ios", "rest_host", "rest.iad-03.braze.com", "rest.fra-01.braze.eu"),
        ("ios", "sdk_host", "sdk.iad-03.braze.com", "sdk.fra-01.braze.eu"),
        ("server", "braze_instance", "custom", "EU-01"),
        ("server", "rest_host", "rest.iad-03.braze.com", "rest.fra-01.braze.eu"),
    ]
    assert "go to the new endpoint" in body["in_flight"]
    assert body["check_ids"] == []
    assert stored(split_connection)["server"] == ("custom", "rest.iad-03.braze.com")


def test_confirmed_it_moves_every_output_and_starts_a_check_of_each(
    api: ApiClient, operator: User, split_connection: Connection
) -> None:
    response = api.post(path(split_connection), {"braze_instance": "EU-01", "confirm": True})

    assert response.status_code == 200
    body = response.json()
    assert body["confirmed"] is True
    assert {o["rest_host"] for o in body["connection"]["outputs"]} == {"rest.fra-01.braze.eu"}
    assert stored(split_connection) == {"ios": ("EU-01", ""), "server": ("EU-01", "")}
    checks = ConnectivityCheck.objects.filter(pk__in=body["check_ids"])
    assert sorted(checks.values_list("output__platform", flat=True)) == ["ios", "server"]
    server = split_connection.outputs.get(platform="server")
    assert server.history.first().history_user == operator


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"braze_instance": "custom", "confirm": True}, "custom_rest_endpoint"),
        ({"braze_instance": "EU-09", "confirm": True}, "braze_instance"),
        ({"braze_instance": "custom", "custom_rest_endpoint": "10.0.0.1"}, "custom_rest_endpoint"),
        (
            {"braze_instance": "EU-01", "custom_js_endpoint": "sdk.fra-01.braze.eu"},
            "custom_js_endpoint",
        ),
        ({"braze_instance": "EU-01", "region": "eu"}, "region"),
        ({"braze_instance": "EU-01", "confirm": "maybe"}, "confirm"),
        ({}, "braze_instance"),
    ],
)
def test_a_bad_change_is_refused_naming_the_field_and_writes_nothing(
    api: ApiClient, split_connection: Connection, body: dict[str, Any], field: str
) -> None:
    response = api.post(path(split_connection), body)

    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]
    assert stored(split_connection)["ios"] == ("US-03", "")
    assert not ConnectivityCheck.objects.exists()


def test_the_api_and_the_page_refuse_with_the_same_messages(
    api: ApiClient, marketer: User, split_connection: Connection
) -> None:
    body = {"braze_instance": "custom", "custom_rest_endpoint": "rest.iad-03.braze. om"}
    answered = api.post(path(split_connection), body).json()["errors"]
    url = f"/connections/{split_connection.pk}/change-instance/"
    form = signed_in(marketer).post(url, body).context["form"]

    assert [e["message"] for e in answered] == form.errors["custom_rest_endpoint"]


def test_a_connection_without_outputs_is_refused_on_outputs(
    api: ApiClient, connection: Connection
) -> None:
    response = api.post(path(connection), {"braze_instance": "EU-01"})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["outputs"]


def test_only_a_write_token_of_who_may_edit_outputs_may_change_it(
    api_as: Any, operator: User, auditor: User, split_connection: Connection
) -> None:
    body = {"braze_instance": "EU-01", "confirm": True}
    for client in (api_as(operator, "read"), api_as(auditor, "read,write")):
        assert client.post(path(split_connection), body).status_code == 403
    assert api_as(operator, "read,write").post(path(split_connection), body).status_code == 200


def test_the_openapi_document_has_the_operation(api: ApiClient) -> None:
    schema = api.get("openapi.json").json()

    operation = schema["paths"]["/api/v1/connections/{pk}/change-instance"]["post"]
    assert "every output" in operation["description"]
    assert set(operation["responses"]) >= {"200", "403", "404", "422"}
