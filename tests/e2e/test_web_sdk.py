"""The real ``@mparticle/web-sdk`` in Chromium, pointed at mpbraze (no CDN, loopback only): in
server-side mode what it sends arrives at the fake Braze exactly as the same batches posted to
``/v2/events`` do, keyed by the external identity, with the issued MPID as the batch's mpid."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from connections.identity.models import IdentityRecord
from connections.models import BrazeOutput, Connection, DeliveryMode, InboundBatch
from connections.rules import instances
from devtools.fakebraze import FakeBraze
from tests.conftest import add_output
from tests.connections.delivery_helpers import REST_KEY
from tests.connections.inbound_helpers import Sender
from tests.e2e.helpers import forwarded, shop_site
from tests.services import web_sdk_file

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = """<!doctype html><html><head><script src="/mparticle.js"></script></head><body><script>
window.done = false;
var host = "%(host)s";
mParticle.init("%(key)s", {
  isDevelopmentMode: true, requestConfig: false, forceHttps: false, logLevel: "none",
  identityUrl: host + "/identity/v1/", v3SecureServiceUrl: host + "/v3/JS/",
  configUrl: host + "/JS/v2/", aliasUrl: host + "/v1/identity/",
  identifyRequest: {userIdentities: {customerid: "cust-web-1", email: "jane@example.com"}},
  identityCallback: function (result) {
    window.mpid = result.getUser().getMPID();
    result.getUser().setUserAttribute("plan", "gold");
    mParticle.logEvent("Viewed Shoes", mParticle.EventType.Navigation, {size: "42"});
    var shoe = mParticle.eCommerce.createProduct("Trail Shoe", "SKU-42", 89.5, 1);
    var paid = mParticle.eCommerce.createTransactionAttributes("order-1", null, null, 89.5);
    mParticle.eCommerce.logProductAction(
      mParticle.ProductActionType.Purchase, [shoe], null, null, paid);
    mParticle.upload();
    window.done = true;
  }
});
</script></body></html>"""


def web_server_side(connection: Connection, braze: FakeBraze, origin: str) -> BrazeOutput:
    endpoints = {
        "braze_instance": instances.CUSTOM,
        "custom_rest_endpoint": urlsplit(braze.url).netloc,
    }
    add_output(
        connection,
        "web",
        "web-app-key-0001",
        allowed_origins=origin,
        delivery_mode=DeliveryMode.SERVER_SIDE,
        **endpoints,
    )
    return add_output(connection, "server", REST_KEY, **endpoints)


@pytest.fixture
def site(live_server: Any, connection: Connection) -> Iterator[str]:
    """A page of another origin (another loopback port) carrying the published SDK file."""
    page = PAGE % {"host": urlsplit(live_server.url).netloc, "key": connection.web_key}
    with shop_site(page, {"/mparticle.js": Path(web_sdk_file()).read_bytes()}) as origin:
        yield origin


def test_the_real_web_sdk_arrives_as_the_events_api_would_deliver_it(
    page: Any, site: str, connection: Connection, settings: Any
) -> None:
    settings.MPBRAZE_FORWARD_LINGER_SECONDS = 0
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as braze:
        server = web_server_side(connection, braze, site)
        page.goto(site + "/")
        page.wait_for_function("window.done === true")
        arrived = _all_uploads(connection)
        mpid = IdentityRecord.objects.get(connection=connection, identity_type="customerid").mpid
        assert page.evaluate("window.mpid") == str(mpid)
        # In arrival order: the profile makes a batch's attributes depend on the ones before.
        payloads = [b.payload for b in arrived]
        assert payloads
        assert {p["mpid"] for p in payloads} == {str(mpid)}
        via_sdk = forwarded(server, braze, batch_ids=[b.pk for b in arrived])

        twin = Connection.objects.create(name="Twin", slug="twin", inbound_key="mpb_twin")
        twin_server = web_server_side(twin, braze, site)
        sender = Sender(Client(), twin)
        for payload in payloads:
            assert sender.post("/v2/events", payload).status_code == 202
        via_api = forwarded(twin_server, braze)

    assert via_sdk == via_api
    kinds = {kind for kind, _ in via_sdk}
    assert {"attributes", "events", "purchases"} <= kinds
    assert {body["external_id"] for _, body in via_sdk} == {"cust-web-1"}
    events = [body["name"] for kind, body in via_sdk if kind == "events"]
    assert "Viewed Shoes" in events
    attributes = [body for kind, body in via_sdk if kind == "attributes"]
    assert any(body.get("plan") == "gold" for body in attributes)
    purchases = [body for kind, body in via_sdk if kind == "purchases"]
    assert purchases[0]["price"] == 89.5


def _all_uploads(connection: Connection) -> list[InboundBatch]:
    """The page's batches, once they have all arrived: the SDK uploads each in a request of
    its own, in parallel, so the purchase (the last logged) can arrive before the event
    logged ahead of it. Waits for the custom event, the attribute change and the purchase,
    then for no new batch in half a second."""
    wanted = {"custom_event", "user_attribute_change", "commerce_event"}
    deadline = time.monotonic() + 20
    seen = -1
    while True:
        batches = list(InboundBatch.objects.filter(connection=connection).order_by("pk"))
        kinds = {e.get("event_type") for b in batches for e in b.payload.get("events", [])}
        if (wanted <= kinds and len(batches) == seen) or time.monotonic() > deadline:
            return batches
        seen = len(batches) if wanted <= kinds else -1
        time.sleep(0.5)
