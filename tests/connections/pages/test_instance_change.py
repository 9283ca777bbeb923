""" "Change Braze instance…" on the connection page (issue 20, point 3): every output moves in
one step, validated as a set, after a confirmation naming what changes; recorded in history
and followed by a connectivity check of each output."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from connections.connectivity.models import ConnectivityCheck
from connections.models import BrazeOutput, Connection
from connections.services import INSTANCE_CHANGE_REASON
from tests.conftest import add_output
from tests.connections.pages.test_pages import output_form, signed_in

pytestmark = pytest.mark.django_db

EU = {"braze_instance": "EU-01"}


@pytest.fixture
def split_connection(connection: Connection) -> Connection:
    """The issue's connection: iOS on US 03, Web on Custom with US 03's REST endpoint."""
    add_output(connection, "ios", "ios-app-key-0001", braze_instance="US-03")
    add_output(
        connection,
        "web",
        "web-app-key-0002",
        braze_instance="custom",
        custom_rest_endpoint="rest.iad-03.braze.com",
        custom_js_endpoint="sdk.iad-03.braze.com",
    )
    return connection


def change_url(connection: Connection) -> str:
    return reverse("connection_change_instance", args=[connection.pk])


def instances_of(connection: Connection) -> dict[str, tuple[str, str, str]]:
    return {
        o.platform: (o.braze_instance, o.custom_rest_endpoint, o.custom_js_endpoint)
        for o in connection.outputs.all()
    }


def test_one_output_alone_cannot_move_to_another_workspace(
    marketer: User, split_connection: Connection
) -> None:
    url = reverse("output_edit", args=[split_connection.pk, "web"])
    response = signed_in(marketer).post(url, output_form(platform="web", api_key="", **EU))

    message = response.context["form"].errors["braze_instance"][0]
    assert "used by the iOS output" in message
    assert message.endswith(
        "“Change Braze instance…” on the connection page moves every output at once."
    )


def test_the_confirmation_names_every_change_and_writes_nothing(
    marketer: User, split_connection: Connection
) -> None:
    response = signed_in(marketer).post(change_url(split_connection), EU)

    assert response.status_code == 200
    changes = [(c.output, c.label, *c.shown) for c in response.context["changes"]]
    assert changes == [
        ("iOS", "Instance", "US 03", "EU 01"),
        ("iOS", "REST endpoint", "rest.iad-03.braze.com", "rest.fra-01.braze.eu"),
        ("iOS", "SDK endpoint", "sdk.iad-03.braze.com", "sdk.fra-01.braze.eu"),
        ("Web", "Instance", "Custom", "EU 01"),
        ("Web", "REST endpoint", "rest.iad-03.braze.com", "rest.fra-01.braze.eu"),
        ("Web", "SDK endpoint", "Braze default", "sdk.fra-01.braze.eu"),
        ("Web", "JavaScript endpoint", "sdk.iad-03.braze.com", "sdk.fra-01.braze.eu"),
    ]
    page = response.content.decode()
    assert "queued or waiting for a retry, go to the new endpoint" in page
    assert '<input type="hidden" name="confirm" value="yes">' in page
    assert instances_of(split_connection)["ios"] == ("US-03", "", "")


def test_confirming_moves_every_output_records_who_and_starts_a_check_of_each(
    marketer: User, split_connection: Connection
) -> None:
    response = signed_in(marketer).post(change_url(split_connection), {**EU, "confirm": "yes"})

    assert response["Location"] == reverse("connection_checks", args=[split_connection.pk])
    assert instances_of(split_connection) == {"ios": ("EU-01", "", ""), "web": ("EU-01", "", "")}
    latest = [o.history.first() for o in split_connection.outputs.all()]
    assert {(h.history_user, h.history_change_reason) for h in latest} == {
        (marketer, INSTANCE_CHANGE_REASON)
    }
    checks = ConnectivityCheck.objects.filter(connection=split_connection)
    assert sorted(checks.values_list("output__platform", flat=True)) == ["ios", "web"]


def test_custom_endpoints_are_set_on_the_outputs_they_apply_to(
    marketer: User, split_connection: Connection
) -> None:
    data = {
        "braze_instance": "custom",
        "custom_rest_endpoint": "https://rest.fra-02.braze.eu/",
        "custom_sdk_endpoint": "sdk.fra-02.braze.eu",
        "custom_js_endpoint": "sdk.fra-02.braze.eu",
        "confirm": "yes",
    }
    signed_in(marketer).post(change_url(split_connection), data)

    ios, web = (split_connection.outputs.get(platform=p) for p in ("ios", "web"))
    assert (ios.rest_host, ios.sdk_host, ios.custom_js_endpoint) == (
        "rest.fra-02.braze.eu",
        "sdk.fra-02.braze.eu",
        "",
    )
    assert (web.rest_host, web.sdk_host, web.js_host) == (
        "rest.fra-02.braze.eu",
        "sdk.fra-02.braze.eu",
        "sdk.fra-02.braze.eu",
    )


def test_a_server_output_gets_the_rest_endpoint_only(
    marketer: User, split_connection: Connection
) -> None:
    add_output(
        split_connection,
        "server",
        "rest-key-0003",
        braze_instance="custom",
        custom_rest_endpoint="rest.iad-03.braze.com",
    )
    data = {
        "braze_instance": "custom",
        "custom_rest_endpoint": "rest.fra-02.braze.eu",
        "custom_sdk_endpoint": "sdk.fra-02.braze.eu",
        "confirm": "yes",
    }
    signed_in(marketer).post(change_url(split_connection), data)

    server = split_connection.outputs.get(platform="server")
    assert (server.custom_rest_endpoint, server.custom_sdk_endpoint) == ("rest.fra-02.braze.eu", "")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"braze_instance": "custom"},
            "custom_rest_endpoint",
            "Custom REST endpoint is required when the instance is Custom.",
        ),
        (
            {"braze_instance": "EU-01", "custom_rest_endpoint": "rest.fra-01.braze.eu"},
            "custom_rest_endpoint",
            "Custom REST endpoint must be empty unless the instance is Custom.",
        ),
        (
            {"braze_instance": "US-03", "confirm": "yes"},
            "braze_instance",
            "Every output already uses this instance and endpoints.",
        ),
    ],
    ids=["custom-without-rest", "named-with-custom", "nothing-changes"],
)
def test_a_change_that_breaks_a_rule_is_refused_beside_its_field_and_changes_nothing(
    marketer: User, connection: Connection, data: dict[str, str], field: str, message: str
) -> None:
    add_output(connection, "ios", "ios-app-key-0001", braze_instance="US-03")
    response = signed_in(marketer).post(change_url(connection), data)

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert instances_of(connection) == {"ios": ("US-03", "", "")}
    assert not ConnectivityCheck.objects.exists()


def test_a_javascript_endpoint_without_a_web_output_is_refused(
    marketer: User, connection: Connection
) -> None:
    add_output(connection, "ios", "ios-app-key-0001")
    data = {"braze_instance": "custom", "custom_rest_endpoint": "rest.fra-02.braze.eu"}
    response = signed_in(marketer).post(
        change_url(connection), {**data, "custom_js_endpoint": "sdk.fra-01.braze.eu"}
    )

    assert response.context["form"].errors["custom_js_endpoint"] == [
        "The JavaScript endpoint applies to the Web output only; this connection has none."
    ]


def test_the_connection_page_offers_the_action_and_says_the_rule(
    marketer: User, auditor: User, split_connection: Connection
) -> None:
    page = signed_in(marketer).get(split_connection.get_absolute_url()).content.decode()
    assert f'href="{change_url(split_connection)}">Change Braze instance…</a>' in page
    assert "All outputs send to one Braze workspace, so they share its REST endpoint." in page

    page = signed_in(auditor).get(split_connection.get_absolute_url()).content.decode()
    assert "Change Braze instance…" not in page


@pytest.mark.parametrize("who", ["auditor", "outsider"])
def test_only_who_may_edit_outputs_may_change_the_instance(
    who: str, request: Any, split_connection: Connection
) -> None:
    user = request.getfixturevalue(who)
    response = signed_in(user).post(change_url(split_connection), {**EU, "confirm": "yes"})

    assert response.status_code == 403
    assert instances_of(split_connection)["ios"][0] == "US-03"
    assert Client().get(change_url(split_connection)).status_code == 302  # sign in first


def test_a_connection_without_outputs_is_sent_back_to_add_one(
    marketer: User, connection: Connection
) -> None:
    response = signed_in(marketer).get(change_url(connection))

    assert response["Location"] == connection.get_absolute_url()
    assert not BrazeOutput.objects.exists()
