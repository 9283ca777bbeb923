"""A marketer rotates a connection's inbound secret in a real browser: it asks first, and the
previous secret keeps working for the chosen time."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from connections import services
from connections.models import Connection
from tests.e2e.helpers import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_cancelling_a_rotation_changes_nothing(
    page: Any, live_server: Any, marketer: User, connection: Connection
) -> None:
    before = connection.inbound_secret_hash
    sign_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}{connection.get_absolute_url()}")
    page.click("#rotate-secret")
    assert "Rotate the inbound secret of Shop app?" in page.inner_text("h1")
    assert page.is_checked("input[name=overlap_hours][value='24']")
    screenshot(page, "rotate-secret-confirm")

    page.click("#cancel-rotate")
    page.wait_for_url(f"{live_server.url}{connection.get_absolute_url()}")
    connection.refresh_from_db()
    assert connection.inbound_secret_hash == before
    assert page.locator("#previous-secret").count() == 0


def test_confirming_with_an_overlap_shows_the_new_secret_once_and_the_previous_ones_expiry(
    page: Any, live_server: Any, marketer: User
) -> None:
    connection, old = services.connection_create(name="Shop app")
    sign_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}{connection.get_absolute_url()}")
    page.click("#rotate-secret")
    page.check("input[name=overlap_hours][value='168']")
    page.click("#confirm-rotate")

    new = page.inner_text("#new-secret")
    connection.refresh_from_db()
    assert services.inbound_secret_matches(connection, new)
    assert services.inbound_secret_matches(connection, old)
    expires = connection.previous_secret_expires_at
    assert expires is not None
    until = f"The previous secret works until {expires:%Y-%m-%d %H:%M} UTC"
    assert until in page.inner_text("#previous-secret")
    assert page.inner_text("#inbound-key") == connection.inbound_key
    screenshot(page, "rotate-secret-shown")

    page.click("#continue")
    page.wait_for_url(f"{live_server.url}{connection.get_absolute_url()}")
    assert until in page.inner_text("#previous-secret")
    assert new not in page.content()
    page.reload()
    assert new not in page.content()
    screenshot(page, "connection-after-rotation")


def test_the_new_secret_has_a_copy_button_that_only_writes_to_the_clipboard(
    browser: Any, live_server: Any, marketer: User
) -> None:
    connection, _old = services.connection_create(name="Shop app")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, "marketer")
        page.goto(f"{live_server.url}/connections/{connection.pk}/rotate-secret/")
        page.click("#confirm-rotate")
        new = page.inner_text("#new-secret")
        requests: list[str] = []
        page.on("request", lambda r: requests.append(f"{r.url} {r.post_data or ''}"))

        page.click("#copy-secret")

        page.wait_for_function("document.querySelector('#copy-secret').textContent === 'Copied'")
        assert page.evaluate("navigator.clipboard.readText()") == new
        # The secret went to the clipboard and nowhere else (the page may still fetch its icon).
        assert [r for r in requests if new in r or "favicon" not in r] == []
        screenshot(page, "secret-shown-copy")
    finally:
        context.close()


def test_without_javascript_the_secret_is_shown_selectable_and_no_dead_button(
    browser: Any, live_server: Any, marketer: User
) -> None:
    connection, _old = services.connection_create(name="Shop app")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, "marketer")
        page.goto(f"{live_server.url}/connections/{connection.pk}/rotate-secret/")
        page.click("#confirm-rotate")
        expect(page.locator("#new-secret")).to_be_visible()
        assert not page.is_visible("#copy-secret")
        style = "getComputedStyle(document.querySelector('#new-secret')).userSelect"
        assert page.evaluate(style) in ("all", "auto", "text")
    finally:
        context.close()
