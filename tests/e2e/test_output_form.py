"""The output form in a real browser (issue 12, defects 3 and 5): a typed key survives another
field's error, the Server output waits for an app output, the JS endpoint is a Web field."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from connections import lifecycle
from connections.models import BrazeOutput, Connection
from tests.conftest import add_output
from tests.e2e.helpers import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def new_output_url(base_url: str, connection: Connection, platform: str) -> str:
    return f"{base_url}/connections/{connection.pk}/outputs/new/?platform={platform}"


def test_a_key_typed_before_another_fields_error_is_saved_after_the_fix(
    page: Any, live_server: Any, marketer: User, connection: Connection
) -> None:
    sign_in(page, live_server.url, "marketer")
    page.goto(new_output_url(live_server.url, connection, "ios"))
    page.fill("#id_api_key", "ios-app-key-7c3d")
    page.select_option("#id_braze_instance", "custom")
    page.fill("#id_custom_rest_endpoint", "rest.iad-03.braze.com")
    page.fill("#id_custom_sdk_endpoint", "sdk.api.braze. om")
    page.click("text=Save output")

    assert "contains a space" in page.inner_text("#field-custom_sdk_endpoint .error")
    assert "Your key was kept (••••7c3d)" in page.inner_text("#field-api_key")
    assert page.input_value("#id_api_key") == ""
    assert "ios-app-key-7c3d" not in page.content()
    screenshot(page, "output-form-key-kept")

    page.fill("#id_custom_sdk_endpoint", "sdk.iad-03.braze.com")
    page.click("text=Save output")

    page.wait_for_url(f"{live_server.url}{connection.get_absolute_url()}")
    output = BrazeOutput.objects.get()
    assert lifecycle.output_api_key(output=output) == "ios-app-key-7c3d"
    assert "••••7c3d" in page.inner_text("#output-ios")


def test_add_server_output_is_disabled_with_its_reason_before_an_app_output(
    page: Any, live_server: Any, marketer: User, connection: Connection
) -> None:
    sign_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}{connection.get_absolute_url()}")

    button = page.locator("#output-server button:has-text('Add Server output')")
    assert button.is_disabled()
    reason = page.inner_text("#server-needs-app")
    assert reason.startswith("Add an iOS, Android or Web output first")
    assert button.get_attribute("aria-describedby") == "server-needs-app"
    screenshot(page, "connection-server-disabled")

    add_output(connection, "web", "web-app-key-0001")
    page.reload()
    page.click("#output-server >> text=Add Server output")
    assert page.locator("h1").inner_text().startswith("New output")


def test_the_js_endpoint_field_shows_for_web_only(
    page: Any, live_server: Any, marketer: User, connection: Connection
) -> None:
    sign_in(page, live_server.url, "marketer")
    page.goto(new_output_url(live_server.url, connection, "ios"))
    page.select_option("#id_braze_instance", "custom")
    assert page.locator("#id_custom_sdk_endpoint").is_visible()
    assert page.locator("#id_custom_js_endpoint").is_hidden()
    assert page.locator("#forwarding legend").inner_text() == "Kit settings"
    assert page.locator("#id_include_enriched_user_attributes").is_hidden()
    screenshot(page, "output-form-ios")

    page.select_option("#id_platform", "web")
    assert page.locator("#id_custom_js_endpoint").is_visible()
    assert page.locator("#id_type_detection").is_hidden()  # the Web kit has no type detection

    page.goto(new_output_url(live_server.url, connection, "web"))
    page.select_option("#id_braze_instance", "custom")
    assert page.locator("#id_custom_js_endpoint").is_visible()


def test_the_server_output_shows_the_server_to_server_settings(
    page: Any, live_server: Any, marketer: User, connection: Connection
) -> None:
    add_output(connection, "android", "and-app-key-0001", braze_instance="EU-01")
    sign_in(page, live_server.url, "marketer")
    page.goto(new_output_url(live_server.url, connection, "server"))

    assert page.input_value("#id_braze_instance") == "EU-01"
    assert page.locator("#forwarding legend").inner_text() == "Forwarding (server to server)"
    assert page.locator("#id_include_enriched_user_attributes").is_checked()
    assert page.locator("#id_anonymous_users").is_visible()
    screenshot(page, "output-form-server")
