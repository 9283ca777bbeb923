""" "Change Braze instance…" in a real browser (issue 20, point 3): from the connection page,
through the confirmation naming each change, to the checks it starts."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from connections.models import Connection
from tests.conftest import add_output
from tests.e2e.helpers import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_moves_every_output_to_another_instance_in_one_step(
    page: Any, live_server: Any, marketer: User, connection: Connection
) -> None:
    add_output(connection, "ios", "ios-app-key-0001", braze_instance="US-03")
    add_output(
        connection,
        "web",
        "web-app-key-0002",
        braze_instance="custom",
        custom_rest_endpoint="rest.iad-03.braze.com",
    )
    sign_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}{connection.get_absolute_url()}")
    page.click("#change-instance")
    page.wait_for_url(f"{live_server.url}/connections/{connection.pk}/change-instance/")
    page.wait_for_load_state()  # the page's script hides the custom endpoints once it runs

    assert page.locator("#custom-endpoints").is_hidden()
    page.select_option("#id_braze_instance", "custom")
    page.fill("#id_custom_rest_endpoint", "https://rest.fra-02.braze.eu/")
    page.click("#review-change")

    changes = page.inner_text("#changes")
    assert "iOS · Instance: US 03 → Custom" in changes
    assert "Web · REST endpoint: rest.iad-03.braze.com → rest.fra-02.braze.eu" in changes
    assert "go to the new endpoint" in page.inner_text("#in-flight")
    screenshot(page, "instance-change-confirm")

    page.click("#confirm-change")
    page.wait_for_url(f"{live_server.url}/connections/{connection.pk}/checks/")
    assert "Every output now uses rest.fra-02.braze.eu" in page.inner_text(".messages")
    assert {o.rest_host for o in connection.outputs.all()} == {"rest.fra-02.braze.eu"}
