"""An auditor, in a real browser, walks from the dashboard's failed count to a failure group,
a failed row and its HTTP attempts, at 1280 px without a horizontal scroll."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from connections import services
from connections.delivery.forwarder import output_forward
from connections.models import Delivery, DeliveryAttempt
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY, braze_connection, event, queue_rows
from tests.e2e.helpers import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


def fits(page: Any, selector: str) -> bool:
    """The element (and the table of results in it, if any) ends inside the window, and the
    page does not scroll sideways."""
    return bool(
        page.evaluate(
            """selector => {
                const width = document.documentElement.clientWidth;
                const element = document.querySelector(selector);
                const table = element.querySelector('#result_list') || element;
                return element.getBoundingClientRect().right <= width
                    && table.getBoundingClientRect().right <= width
                    && document.documentElement.scrollWidth <= width;
            }""",
            selector,
        )
    )


def test_an_auditor_walks_from_the_failed_count_to_a_rows_attempts(
    page: Any, live_server: Any, auditor: User, braze: FakeBraze, settings: Any
) -> None:
    settings.MPBRAZE_FORWARD_LINGER_SECONDS = 0
    settings.MPBRAZE_RETRY_MAX_ATTEMPTS = 2
    connection, _secret = services.connection_create(name="Shop app")
    server = braze_connection(connection, braze.url)
    queue_rows(server, [("attributes", {"external_id": "ana", "email": "nope"}), event("bo")])
    output_forward(output_id=server.pk)
    braze.set_faults(next_statuses=(503, 503))
    queue_rows(server, [event("dee", name="Checkout completed")])
    output_forward(output_id=server.pk)
    Delivery.objects.filter(status="queued").update(next_attempt_at="2000-01-01T00:00:00Z")
    output_forward(output_id=server.pk)
    dee = Delivery.objects.get(user_key="dee")
    assert dee.status == "dead"

    sign_in(page, live_server.url, "auditor")
    page.click("a.count-failed")
    page.wait_for_url("**/admin/connections/failedsend/?connection=*")
    assert page.locator("#result_list tbody tr").count() == 2
    assert fits(page, "#changelist")

    page.click("#changelist-filter >> text=Retries exhausted: HTTP 5xx")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)  # the unfiltered list's two rows show until the page turns
    assert "dee" in rows.first.inner_text()
    assert "Checkout completed" in rows.first.inner_text()

    rows.first.locator("th a").click()
    page.wait_for_url(f"**/admin/connections/failedsend/{dee.pk}/change/**")
    table = page.locator("table.attempts tbody tr")
    assert table.count() == DeliveryAttempt.objects.filter(deliveries=dee).count() == 2
    assert "Failed; will retry" in table.first.inner_text()
    assert "Failed; retries exhausted" in table.last.inner_text()
    assert "503" in table.first.inner_text()
    text = page.locator("#content").inner_text()
    assert "2 HTTP attempts; 2 counted against the retry budget" in text
    assert '"external_id": "dee"' in page.locator("pre.json").first.inner_text()
    assert fits(page, "table.attempts")

    page.click("text=Retries exhausted: HTTP 5xx (Open, 1 row)")
    page.wait_for_url("**/admin/connections/failedsend/?group=*")
    assert page.locator("#result_list tbody tr").count() == 1


def test_every_audit_list_fits_1280_px_without_a_horizontal_scroll(
    page: Any, live_server: Any, auditor: User, braze: FakeBraze
) -> None:
    connection, _secret = services.connection_create(name="A connection with a long name")
    server = braze_connection(connection, braze.url)
    queue_rows(server, [event("user-with-a-rather-long-external-id-0001", name="Checkout")])
    output_forward(output_id=server.pk)
    sign_in(page, live_server.url, "auditor")
    page.goto(f"{live_server.url}/admin/")
    lists = page.eval_on_selector_all(
        "#content-main a[href$='/']", "links => links.map(a => a.getAttribute('href'))"
    )
    changelists = sorted({href for href in lists if href.count("/") == 4})
    assert len(changelists) >= 10
    for href in changelists:
        page.goto(f"{live_server.url}{href}")
        assert fits(page, "#changelist"), href


def failed_sends_at_1280(page: Any, braze: FakeBraze) -> None:
    """Rejected and dead rows with long users, events and Braze messages."""
    connection, _secret = services.connection_create(name="Shop app (EU storefront, production)")
    server = braze_connection(connection, braze.url)
    users = [f"customer-{n:04d}@example.com" for n in range(6)]
    braze.set_faults(next_statuses=(503, 503))
    queue_rows(server, [event(user, name="Checkout completed") for user in users])
    output_forward(output_id=server.pk)
    Delivery.objects.filter(status="queued").update(next_attempt_at="2000-01-01T00:00:00Z")
    output_forward(output_id=server.pk)
    page.set_viewport_size({"width": 1280, "height": 900})


# The width of the table of results, and the columns (field-*) of its cells that wrap.
TABLE_AND_WRAPS = """() => {
  const table = document.querySelector('#result_list');
  const wrapped = [...table.querySelectorAll('tbody td, tbody th')].filter(cell => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    return tops.size > 1;
  });
  return [table.getBoundingClientRect().width, [...new Set(wrapped.map(cell => cell.className))]];
}"""


RESULTS_SCROLL = """() => {
  const box = document.querySelector('#changelist .results');
  return box.scrollWidth - box.clientWidth;
}"""


def test_the_failed_sends_table_gets_the_width_at_1280_px_with_the_sidebar_collapsed(
    page: Any, live_server: Any, auditor: User, braze: FakeBraze, settings: Any
) -> None:
    settings.MPBRAZE_FORWARD_LINGER_SECONDS = 0
    settings.MPBRAZE_RETRY_MAX_ATTEMPTS = 2
    failed_sends_at_1280(page, braze)
    sign_in(page, live_server.url, "auditor")
    page.goto(f"{live_server.url}/admin/connections/failedsend/")
    assert page.locator("#result_list tbody tr").count() == 6

    assert not page.is_visible("#nav-sidebar")
    width, wrapped = page.evaluate(TABLE_AND_WRAPS)
    assert width >= 900, width
    assert page.evaluate(RESULTS_SCROLL) == 0  # every column in view, none behind a scroll
    # When, where, who and the status read on one line; the event and Braze's words may wrap.
    assert not {"field-failed", "field-connection", "field-user", "field-http_status"} & set(
        wrapped
    ), wrapped
    assert fits(page, "#changelist")
    screenshot(page, "audit-failed-sends")

    page.click("#toggle-nav-sidebar")  # the user's own choice is kept, as Django keeps it
    assert page.is_visible("#nav-sidebar")
    page.reload()
    assert page.is_visible("#nav-sidebar")
    page.click("#toggle-nav-sidebar")
    page.goto(f"{live_server.url}/admin/connections/failedsend/")
    assert not page.is_visible("#nav-sidebar")


def test_pages_other_than_lists_keep_the_admins_sidebar_open(
    page: Any, live_server: Any, auditor: User, braze: FakeBraze, settings: Any
) -> None:
    settings.MPBRAZE_FORWARD_LINGER_SECONDS = 0
    settings.MPBRAZE_RETRY_MAX_ATTEMPTS = 2
    failed_sends_at_1280(page, braze)
    sign_in(page, live_server.url, "auditor")
    page.goto(f"{live_server.url}/admin/connections/failedsend/")
    row = Delivery.objects.filter(status="dead").first()
    assert row is not None
    page.goto(f"{live_server.url}/admin/connections/failedsend/{row.pk}/change/")
    assert page.is_visible("#nav-sidebar")  # a list visited first set no lasting choice
