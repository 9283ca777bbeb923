"""The status a marketer reads is the truth, in a real browser at 1280 and 375 px: refused
objects read Degraded (with a link to them), 500s read Retrying with Braze's answer, the
failure rate counts what waits for a retry, Retry now sends it; the dashboard's Last test is
the Server output's, and a check that probed nothing reads Not probed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from connections import roles, services
from connections.connectivity.services import connectivity_check_run, output_test_connectivity
from connections.delivery.forwarder import output_forward
from connections.models import BrazeOutput, Connection, Delivery
from connections.rules import instances
from devtools.fakebraze import FakeBraze
from tests.conftest import add_output
from tests.connections.api_helpers import with_roles
from tests.connections.delivery_helpers import REST_KEY, braze_connection, event, queue_rows
from tests.e2e.helpers import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_linger(settings: Any) -> None:
    """Each forward sends what is queued at once: no partly filled request waits."""
    settings.MPBRAZE_FORWARD_LINGER_SECONDS = 0


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


def checked(output: BrazeOutput) -> None:
    connectivity_check_run(check_id=output_test_connectivity(output=output).pk)


def delivering(name: str, braze: FakeBraze) -> BrazeOutput:
    connection, _secret = services.connection_create(name=name)
    server = braze_connection(connection, braze.url)
    checked(server)
    return server


def status_cell(page: Any, name: str) -> Any:
    return page.locator("tr", has_text=name).locator("td[data-label=Status]")


def test_refused_objects_read_degraded_and_500s_read_retrying_with_brazes_answer(
    page: Any, live_server: Any, braze: FakeBraze
) -> None:
    with_roles("operator", roles.MARKETER, roles.OPS)
    shop = delivering("Shop app", braze)
    bad_emails = [
        ("attributes", {"external_id": f"b{n}", "email": "not-an-email"}) for n in range(6)
    ]
    queue_rows(shop, [event(f"u{n}") for n in range(22)] + bad_emails)
    output_forward(output_id=shop.pk)
    news = delivering("News app", braze)
    queue_rows(news, [event(f"n{n}") for n in range(6)])
    braze.set_faults(next_statuses=(500,))
    output_forward(output_id=news.pk)
    waiting = Delivery.objects.filter(output=news, status="queued", attempts=1)
    assert waiting.count() == 6
    # As after a few more 500s: the next retry is minutes away, not seconds.
    waiting.update(next_attempt_at=timezone.now() + timedelta(minutes=10))

    sign_in(page, live_server.url, "operator")
    shop_cell, news_cell = status_cell(page, "Shop app"), status_cell(page, "News app")
    assert shop_cell.locator(".badge").inner_text() == "Degraded", shop_cell.inner_text()
    assert "Braze rejected 6 objects in the last hour." in shop_cell.inner_text()
    assert news_cell.locator(".badge").inner_text() == "Retrying"
    news_text = news_cell.inner_text()
    assert re.search(
        r"6 objects wait for a retry\. Braze answered HTTP 500 at \d\d:\d\d; ", news_text
    )
    assert "Healthy" not in page.locator("main").inner_text()
    assert " rows" not in page.locator("main").inner_text()
    screenshot(page, "status-dashboard-degraded-retrying")

    page.goto(f"{live_server.url}/connections/{news.connection_id}/")
    assert page.locator("#health").inner_text() == "Retrying"
    assert "100 %" in page.locator("#failure-rate").inner_text()
    assert "6 waiting for a retry of 6" in page.locator("#failure-rate").inner_text()
    assert "6 objects wait for a later attempt." in page.locator("#retry-now").inner_text()
    screenshot(page, "status-connection-retrying")
    page.click("#retry-now-button")
    page.locator(".msg", has_text="Retry now: 6 waiting objects will be sent at once.").wait_for()
    assert (
        "Last Retry now: 6 waiting objects, by operator" in page.locator("#retry-now").inner_text()
    )
    screenshot(page, "status-connection-after-retry-now")

    page.goto(f"{live_server.url}/connections/{shop.connection_id}/")
    assert page.locator("#health").inner_text() == "Degraded"
    assert "6 failed of 28" in page.locator("#failure-rate").inner_text()
    screenshot(page, "status-connection-degraded")
    page.click("#health-link")
    page.wait_for_url(re.compile(r".*/admin/connections/failedsend/\?connection=.*failed_since="))
    assert page.locator("#result_list tbody tr").count() == 6


def test_the_last_test_is_the_server_outputs_and_a_check_that_probed_nothing_is_not_passed(
    page: Any, live_server: Any, marketer: User, braze: FakeBraze
) -> None:
    connection, _secret = services.connection_create(name="Shop app")
    server = braze_connection(connection, braze.url)
    custom = {"braze_instance": instances.CUSTOM, "custom_rest_endpoint": server.rest_host}
    add_output(connection, "web", "web-app-key-0001", **custom)  # no SDK endpoint
    add_output(connection, "android", "android-app-key-0001", **custom)
    braze.remove_key(REST_KEY)
    queue_rows(server, [event("u1")])
    output_forward(output_id=server.pk)  # Braze answers 401: the connection pauses
    checked(server)
    for app in connection.outputs.exclude(platform="server"):
        checked(app)  # later, and every step skipped
    assert Connection.objects.get().paused_reason

    sign_in(page, live_server.url, "marketer")
    last_test = page.locator("tr", has_text="Shop app").locator("td.last-test")
    assert last_test.locator(".badge").inner_text() == "Failed"
    assert "Server," in last_test.inner_text()
    assert "Passed" not in last_test.inner_text()
    screenshot(page, "last-test-dashboard")

    page.goto(f"{live_server.url}/connections/{connection.pk}/checks/")
    cards = page.locator("section.check")
    assert [cards.nth(n).get_attribute("id") for n in range(cards.count())] == [
        "check-ios",
        "check-android",
        "check-web",
        "check-server",
    ]
    assert page.locator("#check-web .badge").inner_text() == "Not probed"
    assert page.locator("#check-server .badge").inner_text() == "Failed"
    screenshot(page, "last-test-connectivity")

    page.goto(f"{live_server.url}/connections/{connection.pk}/")
    assert page.locator("#output-web .last-test .badge").inner_text() == "Not probed"
    assert page.locator("#output-server .last-test .badge").inner_text() == "Failed"
    screenshot(page, "last-test-connection")
