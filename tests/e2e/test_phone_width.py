"""Every marketer page at phone (375 px) and desktop (1280 px) width: nothing scrolls sideways.

Screenshots of each page at both widths go to .local/screenshots/page-*.png for a person to
look at.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from connections import services
from connections.connectivity.models import ConnectivityCheck, ConnectivityStep
from connections.models import Connection, Delivery, FailureGroup
from tests.conftest import add_output
from tests.connections.pages.test_glance import issue, seed
from tests.e2e.helpers import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (375, 1280)
Action = Callable[[Any], None]

# The elements that stick out past the right edge, to say what to fix when one does.
OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(0, 8)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
            (typeof e.className === 'string' && e.className ? '.' + e.className : '') +
            ' ' + Math.round(e.getBoundingClientRect().right) + 'px')"""


def busy_connection() -> Connection:
    """A connection in use: two outputs, a week of sends, failures, issues, a failed test."""
    connection = services.connection_create(name="Shop app (EU storefront, production)")[0]
    add_output(connection, "ios", "ios-app-key-0001")
    server = add_output(connection, "server", "rest-key-0001")
    now = timezone.now()
    for hours in range(0, 150, 7):
        seed(server, Delivery.Status.SENT, 3 + hours % 11, sent_at=now - timedelta(hours=hours))
    seed(server, Delivery.Status.REJECTED, 2, failed_at=now - timedelta(hours=5))
    seed(server, Delivery.Status.QUEUED, 4, created=now - timedelta(hours=1))
    issue(server, "array_in_event_property", "events[].data.custom_attributes.product_tags", 40)
    issue(server, "string_truncated", "user_attributes.biography_long_text_field", 7)
    FailureGroup.objects.create(
        connection=connection,
        output=server,
        key="rejected:external_id",
        kind=FailureGroup.Kind.REJECTED,
        title="Braze rejected an object: 'external_id' is longer than 987 characters",
        count=2,
        first_seen=now,
        last_seen=now,
        sample_user="user-with-a-long-external-id-0123456789abcdef0123456789abcdef",
        sample_message="Invalid 'external_id' for this user: too long",
    )
    check = ConnectivityCheck.objects.create(
        connection=connection,
        output=server,
        outcome=ConnectivityCheck.Outcome.FAILED,
        finished_at=now,
        duration_ms=412,
        summary="Braze refused the REST API key (401): check the key and the instance.",
    )
    for position, (name, outcome, message) in enumerate(
        [
            ("dns", "passed", "rest.fra-02.braze.eu resolved to 18.157.221.100, 3.125.80.241"),
            ("tcp", "passed", "Connected to rest.fra-02.braze.eu:443"),
            ("tls", "passed", "TLS 1.3 with a certificate for *.fra-02.braze.eu"),
            ("http", "failed", "POST https://rest.fra-02.braze.eu/users/track answered 401"),
        ]
    ):
        ConnectivityStep.objects.create(
            connectivity_check=check,
            position=position,
            name=name,
            outcome=outcome,
            latency_ms=30 + position,
            message=message,
        )
    Connection.objects.filter(pk=connection.pk).update(
        paused_reason="Braze refused the REST API key (401 Unauthorized) at 14:02 UTC."
    )
    return connection


def preview_an_example(page: Any) -> None:
    page.select_option("#id_example", "attribute_changes")
    page.click("#preview-form button[type=submit]")
    page.wait_for_selector("#preview-result")


def review_a_change_of_instance(page: Any) -> None:
    page.select_option("#id_braze_instance", "EU-01")
    page.click("#review-change")
    page.wait_for_selector("#changes")


def pages() -> dict[str, tuple[Callable[[Connection, Connection], str], Action | None]]:
    """Name → the path of the page (given a busy and a brand-new connection), and what to do
    there before looking."""
    return {
        "login": (lambda busy, new: "/login/", None),
        "dashboard": (lambda busy, new: "/", None),
        "connection-new": (lambda busy, new: f"/connections/{new.pk}/", None),
        "connection-busy": (lambda busy, new: f"/connections/{busy.pk}/", None),
        "connection-create": (lambda busy, new: "/connections/new/", None),
        "connection-edit": (lambda busy, new: f"/connections/{busy.pk}/edit/", None),
        "output-new": (lambda busy, new: f"/connections/{new.pk}/outputs/new/?platform=web", None),
        "output-edit": (lambda busy, new: f"/connections/{busy.pk}/outputs/server/", None),
        "checks": (lambda busy, new: f"/connections/{busy.pk}/checks/", None),
        "live-events": (lambda busy, new: f"/connections/{busy.pk}/events/", None),
        "live-events-empty": (lambda busy, new: f"/connections/{new.pk}/events/", None),
        "preview": (lambda busy, new: f"/connections/{busy.pk}/preview/", None),
        "preview-result": (
            lambda busy, new: f"/connections/{busy.pk}/preview/",
            preview_an_example,
        ),
        "confirm-delete": (lambda busy, new: f"/connections/{busy.pk}/delete/", None),
        "confirm-resume": (lambda busy, new: f"/connections/{busy.pk}/resume/", None),
        "confirm-rotate": (lambda busy, new: f"/connections/{busy.pk}/rotate-secret/", None),
        "confirm-rotate-web-key": (
            lambda busy, new: f"/connections/{busy.pk}/rotate-web-key/",
            None,
        ),
        "change-instance": (lambda busy, new: f"/connections/{busy.pk}/change-instance/", None),
        "confirm-change-instance": (
            lambda busy, new: f"/connections/{busy.pk}/change-instance/",
            review_a_change_of_instance,
        ),
        "confirm-output-delete": (
            lambda busy, new: f"/connections/{busy.pk}/outputs/ios/delete/",
            None,
        ),
    }


@pytest.mark.parametrize("name", list(pages()))
def test_the_page_fits_a_phone_and_a_desktop_without_sideways_scrolling(
    name: str, browser: Any, live_server: Any, marketer: User
) -> None:
    busy = busy_connection()
    new = services.connection_create(name="New connection")[0]
    path, action = pages()[name]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    if name != "login":
        sign_in(page, live_server.url, "marketer")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            response = page.goto(f"{live_server.url}{path(busy, new)}")
            assert response is not None
            assert response.status == 200, f"{name} answered {response.status}"
            if action is not None:
                action(page)
            page.screenshot(path=str(SCREENSHOTS / f"page-{name}-{width}.png"), full_page=True)
            fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert fits, f"{name} at {width} px scrolls sideways: {page.evaluate(OVERFLOWING)}"
    finally:
        context.close()


def test_step_names_on_the_checks_page_stay_whole_on_a_phone(
    browser: Any, live_server: Any, marketer: User
) -> None:
    busy = busy_connection()
    context = browser.new_context(viewport={"width": 375, "height": 800})
    try:
        page = context.new_page()
        sign_in(page, live_server.url, "marketer")
        page.goto(f"{live_server.url}/connections/{busy.pk}/checks/")
        # The line boxes of each step's name: "DNS" on one line, never "D" above "NS".
        lines = page.evaluate(
            """() => [...document.querySelectorAll('.steps td:nth-child(2)')].map(td => {
                 const range = document.createRange();
                 range.selectNodeContents(td);
                 return [td.innerText, range.getClientRects().length];
               })"""
        )
        assert lines == [["DNS", 1], ["TCP", 1], ["TLS", 1], ["HTTP", 1]]
    finally:
        context.close()
