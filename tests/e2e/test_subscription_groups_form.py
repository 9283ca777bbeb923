"""The Server output's subscription group mapping in a real browser (issue 24 §4): a bad row is
named beside the field, the fixed mapping is saved, and an app output does not show it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from connections.models import BrazeOutput, Connection
from tests.conftest import add_output
from tests.e2e.helpers import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEWS = "6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77"


def test_a_bad_row_is_named_then_the_fixed_mapping_is_saved(
    page: Any, live_server: Any, marketer: User, connection: Connection
) -> None:
    add_output(connection, "ios", "ios-app-key-0001")
    server = add_output(connection, "server", "rest-api-key-0002")
    sign_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}/connections/{connection.pk}/outputs/server/")
    page.fill("#id_subscription_group_mapping", f"newsletter = {NEWS}\nsms offers = 12345")
    page.click("text=Save output")

    error = page.inner_text("#field-subscription_group_mapping .error")
    assert error.startswith("Row 2: “12345” is not a subscription group id")
    screenshot(page, "output-form-subscription-groups-error")

    page.fill("#id_subscription_group_mapping", f"newsletter = {NEWS.upper()}")
    page.click("text=Save output")

    page.wait_for_url(f"{live_server.url}{connection.get_absolute_url()}")
    server.refresh_from_db()
    assert server.settings["subscription_group_mapping"] == [
        {"attribute": "newsletter", "subscription_group_id": NEWS}
    ]


def test_an_app_output_does_not_show_the_mapping(
    page: Any, live_server: Any, marketer: User, connection: Connection
) -> None:
    add_output(connection, "ios", "ios-app-key-0001")
    sign_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}/connections/{connection.pk}/outputs/ios/")

    assert page.locator("#id_subscription_group_mapping").is_hidden()
    assert BrazeOutput.objects.count() == 1
