""" "Find my instance" in a real browser (issue 20, points 1 and 2): the page's script selects
the instance of a pasted address, a different choice afterwards is said there and refused by
the server naming both instances, and an unrecognised address shows beside every other error."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from connections.models import BrazeOutput, Connection
from tests.e2e.helpers import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DISAGREES = "The dashboard URL you pasted is on US 03, but EU 01 is selected."


def open_new_output(page: Any, base_url: str, connection: Connection) -> None:
    sign_in(page, base_url, "marketer")
    page.goto(f"{base_url}/connections/{connection.pk}/outputs/new/?platform=ios")


def test_a_pasted_dashboard_url_never_overrides_the_instance_chosen_after_it(
    page: Any, live_server: Any, marketer: User, connection: Connection
) -> None:
    open_new_output(page, live_server.url, connection)
    page.fill("#id_api_key", "ios-app-key-7c3d")
    page.fill("#id_instance_finder", "https://dashboard-03.braze.com")
    assert page.input_value("#id_braze_instance") == "US-03"
    assert page.inner_text("#finder-result") == "Selected US 03."

    page.select_option("#id_braze_instance", "EU-01")
    assert page.inner_text("#finder-result") == DISAGREES
    page.click("text=Save output")

    assert page.inner_text("#field-instance_finder .error") == DISAGREES
    assert page.input_value("#id_braze_instance") == "EU-01"
    assert not BrazeOutput.objects.exists()
    screenshot(page, "instance-finder-disagrees")


def test_an_unrecognised_address_shows_with_the_key_and_endpoint_errors(
    page: Any, live_server: Any, marketer: User, connection: Connection
) -> None:
    open_new_output(page, live_server.url, connection)
    page.select_option("#id_braze_instance", "custom")
    page.fill("#id_instance_finder", "http://127.0.0.1:9100")
    assert page.input_value("#id_braze_instance") == "custom"
    page.click("text=Save output")

    errors = {
        name: page.inner_text(f"#field-{name} .error")
        for name in ("instance_finder", "api_key", "custom_rest_endpoint")
    }
    assert errors == {
        "instance_finder": "No Braze instance matches that address; "
        "choose Custom for other endpoints.",
        "api_key": "API key is required.",
        "custom_rest_endpoint": "Custom REST endpoint is required when the instance is Custom.",
    }
    assert page.locator("#id_custom_rest_endpoint").is_visible()
    screenshot(page, "instance-finder-all-errors")
