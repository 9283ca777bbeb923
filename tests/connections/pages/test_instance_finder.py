"""The output form's "Find my instance" (issue 20, points 1 and 2): a helper that never
overrides the chosen instance, and whose message is one error among the others."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from connections.models import BrazeOutput, Connection
from tests.connections.pages.test_pages import output_form, signed_in

pytestmark = pytest.mark.django_db

NO_MATCH = "No Braze instance matches that address; choose Custom for other endpoints."


def post(user: User, connection: Connection, **fields: str) -> dict[str, list[str]]:
    url = reverse("output_create", args=[connection.pk])
    response = signed_in(user).post(url, output_form(**fields))
    return dict(response.context["form"].errors) if response.status_code == 200 else {}


def test_a_dashboard_url_of_another_instance_is_an_error_naming_both_never_an_override(
    marketer: User, connection: Connection
) -> None:
    errors = post(
        marketer,
        connection,
        braze_instance="EU-01",
        instance_finder="https://dashboard-03.braze.com",
    )

    assert errors == {
        "instance_finder": ["The dashboard URL you pasted is on US 03, but EU 01 is selected."]
    }
    assert not BrazeOutput.objects.exists()


def test_a_rest_endpoint_of_another_instance_is_named_as_an_endpoint(
    marketer: User, connection: Connection
) -> None:
    errors = post(
        marketer, connection, braze_instance="custom", instance_finder="rest.fra-01.braze.eu"
    )

    assert errors["instance_finder"] == [
        "The endpoint you pasted is on EU 01, but Custom is selected."
    ]


def test_a_finder_value_that_agrees_with_the_chosen_instance_saves_it(
    marketer: User, connection: Connection
) -> None:
    post(
        marketer,
        connection,
        braze_instance="US-05",
        instance_finder="https://dashboard-05.braze.com/app/x",
    )

    assert BrazeOutput.objects.get().braze_instance == "US-05"


def test_an_unrecognised_finder_value_is_shown_with_every_other_error(
    marketer: User, connection: Connection
) -> None:
    errors = post(
        marketer,
        connection,
        api_key="",
        braze_instance="custom",
        custom_rest_endpoint="",
        instance_finder="http://127.0.0.1:9100",
    )

    assert errors == {
        "instance_finder": [NO_MATCH],
        "api_key": ["API key is required."],
        "custom_rest_endpoint": ["Custom REST endpoint is required when the instance is Custom."],
    }


def test_a_disagreeing_finder_is_shown_with_an_endpoint_error(
    marketer: User, connection: Connection
) -> None:
    errors = post(
        marketer,
        connection,
        braze_instance="custom",
        custom_rest_endpoint="rest.iad-03.braze.com/path",
        instance_finder="dashboard-03.braze.com",
    )

    assert set(errors) == {"instance_finder", "custom_rest_endpoint"}
