"""The preview page in a real browser: a bundled example lands in the box, where it is edited."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from connections.models import Connection
from mapping.examples import example_text
from tests.conftest import add_output
from tests.e2e.helpers import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_choosing_an_example_fills_the_box_and_the_edited_batch_is_previewed(
    page: Any, live_server: Any, marketer: User, connection: Connection
) -> None:
    add_output(connection, "android", "and-app-key-0001")
    sign_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}/connections/{connection.pk}/preview/")
    page.select_option("#id_example", "purchase")
    assert page.input_value("#id_batch") == example_text("purchase")

    page.fill("#id_batch", example_text("purchase").replace('"EUR"', '"CHF"'))
    page.click("button:has-text('Preview')")
    body = page.locator(".request-body").first.inner_text()
    assert '"currency": "CHF"' in body
    assert '"currency_code": "CHF"' in page.input_value("#id_batch")
    screenshot(page, "preview-edited-example")
