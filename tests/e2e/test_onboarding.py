"""A new connection's page in a real browser: the checklist and the first-event snippets."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from connections import services
from tests.e2e.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_copy_button_puts_its_snippet_on_the_clipboard(
    browser: Any, live_server: Any, marketer: User
) -> None:
    connection, secret = services.connection_create(name="First steps")
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, live_server.url, "marketer")
        page.goto(f"{live_server.url}{connection.get_absolute_url()}")

        assert page.locator("#onboarding").is_visible()
        assert page.locator("#snippet-curl").is_visible()  # open until a first delivery
        page.click("button.copy[data-copy=snippet-python]")

        page.wait_for_selector("button.copy[data-copy=snippet-python]:text-is('Copied')")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == page.inner_text("#snippet-python")
        assert f'config.api_key = "{connection.inbound_key}"' in copied
        assert f'config.host = "{live_server.url}/v2"' in copied
        assert secret not in copied
    finally:
        context.close()
