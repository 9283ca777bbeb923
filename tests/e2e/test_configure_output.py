"""A marketer configures a Custom Braze instance in a real browser."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from connections.models import BrazeOutput
from tests.e2e.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_fixes_a_spaced_sdk_host_and_sees_the_masked_key(
    page: Any, live_server: Any, marketer: User
) -> None:
    sign_in(page, live_server.url, "marketer")
    page.click("text=New connection")
    page.fill("#id_name", "Shop app")
    page.click("text=Create connection")
    # The click's navigation may still be under way: wait for the new page's secret.
    expect(page.locator("#new-secret")).to_be_visible()
    page.click("#continue")

    page.click("#output-ios >> text=Add iOS output")
    page.fill("#id_api_key", "ios-app-key-7c3d")
    page.select_option("#id_braze_instance", "custom")
    page.fill("#id_custom_rest_endpoint", "rest.iad-03.braze.com")
    page.fill("#id_custom_sdk_endpoint", "sdk.api.braze. om")
    page.click("text=Save output")

    error = page.locator("#field-custom_sdk_endpoint .error")
    assert "contains a space" in error.inner_text()
    assert page.input_value("#id_custom_rest_endpoint") == "rest.iad-03.braze.com"
    assert not BrazeOutput.objects.exists()

    page.fill("#id_api_key", "ios-app-key-7c3d")
    page.fill("#id_custom_sdk_endpoint", "sdk.iad-03.braze.com")
    page.click("text=Save output")

    card = page.locator("#output-ios")
    assert "••••7c3d" in card.inner_text()
    assert "ios-app-key-7c3d" not in page.content()
    assert BrazeOutput.objects.get().custom_sdk_endpoint == "sdk.iad-03.braze.com"


def test_the_instance_finder_selects_the_instance_of_a_pasted_dashboard_url(
    page: Any, live_server: Any, marketer: User, connection: Any
) -> None:
    sign_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}/connections/{connection.pk}/outputs/new/?platform=web")
    page.fill("#id_instance_finder", "https://dashboard-03.braze.com/dashboard/home")
    assert page.input_value("#id_braze_instance") == "US-03"
    assert "Selected US 03." in page.inner_text("#finder-result")
    assert page.locator("#custom-endpoints").is_hidden()


def test_the_connection_page_fits_a_phone_screen(
    browser: Any, live_server: Any, marketer: User, connection: Any
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    sign_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}{connection.get_absolute_url()}")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 375
    context.close()


def test_a_marketer_previews_a_bundled_example_in_the_browser(
    page: Any, live_server: Any, marketer: User, connection: Any
) -> None:
    from tests.conftest import add_output

    add_output(connection, "android", "and-app-key-0001")
    sign_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}{connection.get_absolute_url()}")
    page.click("text=Preview mapping")
    page.select_option("#id_example", "purchase")
    page.click("button:has-text('Preview')")
    result = page.locator("#preview-result")
    assert "request to Braze" in result.inner_text()
    body = page.locator(".request-body").first.inner_text()
    assert '"purchases"' in body
    assert '"product_id": "SKU-1"' in body
    assert '"currency": "EUR"' in body
