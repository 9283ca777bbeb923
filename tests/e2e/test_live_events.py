"""Live events in a real browser (issue 25, "Done when"): events sent with the mParticle
Python SDK while the page is open appear without a reload and move from queued to sent; an
object the (fake) Braze refuses shows "rejected by Braze" with its message and a link to its
failed send and replay; the user filter finds one user's events. At 1280 and 375 px."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import mparticle
import pytest
from django.contrib.auth.models import User

from connections import services
from connections.delivery.forwarder import output_forward
from connections.delivery.mapping_service import batches_map
from connections.models import Connection, Delivery, InboundBatch
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY, braze_connection
from tests.e2e.helpers import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REFUSAL = "'external_id' is blocked for this workspace"


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


def sdk_batch(customer_id: str, *names: str) -> Any:
    batch = mparticle.Batch(environment="production")
    batch.user_identities = mparticle.UserIdentities(customerid=customer_id)
    batch.device_info = mparticle.DeviceInformation(platform="iOS")
    batch.events = [mparticle.AppEvent(name, "other") for name in names]
    return batch


def map_received(connection: Connection) -> None:
    """What the worker's mapping task does with the batches the SDK's request stored."""
    ids = InboundBatch.objects.filter(connection=connection, status="received")
    batches_map(batch_ids=list(ids.values_list("pk", flat=True)))


def row_of(page: Any, name: str) -> Any:
    what = page.locator(".what", has_text=name)
    return page.locator("details.live-event", has=what)


def fate_of(page: Any, name: str) -> Any:
    return row_of(page, name).locator(".fate")


def words(locator: Any) -> str:
    return " ".join(locator.inner_text().split())


def test_events_appear_move_to_sent_and_a_rejection_links_to_its_replay(
    page: Any,
    live_server: Any,
    ops: User,
    braze: FakeBraze,
    sdk_client: Callable[[str, str], Any],
    settings: Any,
) -> None:
    settings.MPBRAZE_FORWARD_LINGER_SECONDS = 0
    connection, secret = services.connection_create(name="Shop app")
    server = braze_connection(connection, braze.url)
    api = sdk_client(connection.inbound_key, secret)
    refusal = {"users": {"eve": REFUSAL}}
    httpx.post(f"{braze.url}/_fake/refused-users", json=refusal).raise_for_status()
    sign_in(page, live_server.url, "ops")
    page.goto(f"{live_server.url}/connections/{connection.pk}/")
    page.click("#live-events-link")
    page.wait_for_url(f"**/connections/{connection.pk}/events/")
    assert page.locator("#live-empty").is_visible()

    api.bulk_upload_events([sdk_batch("ana", "Opened", "Added to cart"), sdk_batch("eve", "Paid")])
    fate_of(page, "Added to cart").wait_for()  # no reload: the script added the rows
    assert words(fate_of(page, "Opened")) == "waiting to be mapped"
    map_received(connection)
    page.wait_for_selector("details.live-event[data-fate=queued]")
    assert words(fate_of(page, "Opened")) == "queued"
    screenshot(page, "live-events-queued")

    output_forward(output_id=server.pk)
    page.wait_for_function(
        "() => !document.querySelector('details.live-event[data-unsettled]')", timeout=15_000
    )
    assert words(fate_of(page, "Opened")).startswith("sent at ")
    request = Delivery.objects.get(connection=connection, event_name="Opened").http_attempts.get()
    assert words(fate_of(page, "Opened")).endswith(f" in request #{request.pk}")
    assert words(fate_of(page, "Paid")) == f"rejected by Braze Braze: {REFUSAL}"

    row = row_of(page, "Paid")
    row.locator("summary").click()
    assert REFUSAL in row.locator("table.live-attempts").inner_text()
    assert '"external_id": "eve"' in row.locator("pre.json").nth(1).inner_text()
    screenshot(page, "live-events-rejected")
    row.locator("a.failed-send-link").click()
    page.wait_for_url("**/admin/connections/failedsend/*/change/")
    assert page.locator("#replay-one").is_visible()
    page.click("#replay-one")
    eve = Delivery.objects.get(user_key="eve")
    page.wait_for_url(f"**/admin/connections/failedsend/replay/?ids={eve.pk}")
    assert "1 rows, 1 users" in page.locator("#content").inner_text()

    page.goto(f"{live_server.url}/connections/{connection.pk}/events/")
    page.fill("input[name=user]", "eve")
    page.click(".live-filters button[type=submit]")
    page.wait_for_url("**/events/?user=eve*")
    users = page.locator("details.live-event .who").all_inner_texts()
    assert users == ["eve"]
    screenshot(page, "live-events-filtered")


def test_the_page_fits_a_phone_without_a_sideways_scroll(
    page: Any, live_server: Any, marketer: User, sdk_client: Callable[[str, str], Any]
) -> None:
    connection, secret = services.connection_create(name="A connection with a long name")
    braze_connection(connection, "http://127.0.0.1:9")
    api = sdk_client(connection.inbound_key, secret)
    api.upload_events(sdk_batch("customer-with-a-rather-long-external-identity-0001", "Checkout"))
    map_received(connection)
    sign_in(page, live_server.url, "marketer")
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server.url}/connections/{connection.pk}/events/")
    page.locator("details.live-event summary").first.click()

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    assert page.locator("#live-pause").is_visible()
    screenshot(page, "live-events-phone")
