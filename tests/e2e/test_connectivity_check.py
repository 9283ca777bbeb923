"""A marketer tests a connection with a wrong key in a real browser, with a real worker: the
401 sentence appears without a reload; after the key is fixed the test passes, the pause
lifts and the waiting rows drain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from connections import lifecycle, services
from connections.models import Connection, Delivery
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import braze_connection, event, queue_rows
from tests.e2e.helpers import sign_in
from tests.reliability.conftest import start_worker, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["start_worker"]  # the fixture, for this module's tests
RIGHT_KEY = "rest-key-right-0001"


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={RIGHT_KEY: {"users.track"}}) as fake:  # the output's key is not it
        yield fake


def test_a_marketer_sees_a_refused_key_then_a_fixed_one_pass_and_the_rows_drain(
    page: Any, live_server: Any, marketer: User, braze: FakeBraze, start_worker: Any
) -> None:
    connection, _secret = services.connection_create(name="Shop app")
    server = braze_connection(connection, braze.url)
    queue_rows(server, [event(f"u{n}") for n in range(10)])
    lifecycle.connection_pause(connection=connection, reason="Braze answered 401 (test)")
    start_worker()
    sign_in(page, live_server.url, "marketer")

    page.goto(f"{live_server.url}/connections/{connection.pk}/")
    page.click("#test-connection")
    page.wait_for_url(f"{live_server.url}/connections/{connection.pk}/checks/")
    page.evaluate("window.stillTheSamePage = true")
    card = page.locator("#check-server")
    card.locator(".summary", has_text="API key rejected by Braze (401)").wait_for()
    assert page.evaluate("window.stillTheSamePage") is True  # drawn by the script, no reload
    assert "✗" in card.inner_text()
    assert Connection.objects.get().paused_reason

    page.goto(f"{live_server.url}/connections/{connection.pk}/outputs/server/")
    page.fill("#id_api_key", RIGHT_KEY)
    page.click("text=Save output")
    page.click("#test-connection")
    page.locator("#check-server[data-outcome=passed]").wait_for()
    assert (
        "proves the API key and the instance are right"
        in page.locator("#check-server").inner_text()
    )
    assert not Connection.objects.get().paused_reason
    sent = Delivery.objects.filter(status="sent")
    wait_until(lambda: sent.count() == 10, timeout=30, what="the waiting rows to drain")
