"""The real ``@mparticle/web-braze-kit`` (it bundles Braze's own Web SDK) beside the real
``@mparticle/web-sdk`` in Chromium, with ``requestConfig`` on and mpbraze behind TLS: in kit
mode the Braze Web SDK starts with the Web output's API key and user, sends to the Web output's
custom JavaScript endpoint (a local HTTPS stand-in for Braze's SDK API), and mpbraze stores the
upload without forwarding it. Changing the key on the dashboard changes what the next page
load starts with."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections import lifecycle
from connections.models import BrazeOutput, Connection, DeliveryMode, InboundBatch
from connections.rules import instances
from devtools.fakebraze import BrazeSdkApi, FakeBraze
from devtools.fakebraze.sdk_api import SdkRequest
from tests.conftest import add_output
from tests.connections.delivery_helpers import REST_KEY
from tests.connections.inbound_helpers import Sender
from tests.e2e.helpers import forwarded, shop_site, sign_in
from tests.e2e.tls import Certificate
from tests.services import web_braze_kit_file, web_sdk_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST_KEY = "web-app-key-0001"
NEW_KEY = "web-app-key-0002"
CUSTOMER = "cust-kit-1"
WAIT_SECONDS = 30

# The kit is a CommonJS bundle: it needs an ``exports`` object, and registers itself with
# ``mParticle.addForwarder`` when loaded after mparticle.js.
PAGE = """<!doctype html><html><head>
<script src="/mparticle.js"></script>
<script>var exports = {};</script>
<script src="/BrazeKit.common.js"></script>
</head><body><script>
window.done = false;
var host = "%(host)s";
mParticle.init("%(key)s", {
  isDevelopmentMode: true, requestConfig: true, logLevel: "none",
  identityUrl: host + "/identity/v1/", v3SecureServiceUrl: host + "/v3/JS/",
  v1SecureServiceUrl: host + "/v1/JS/", configUrl: host + "/JS/v2/",
  aliasUrl: host + "/v1/identity/",
  identifyRequest: {userIdentities: {customerid: "%(customer)s"}},
  identityCallback: function (result) {
    mParticle.logEvent("Viewed Shoes", mParticle.EventType.Navigation, {size: "42"});
    mParticle.upload();
    window.done = true;
  }
});
</script></body></html>"""


@pytest.fixture
def sdk_api(tls: Certificate) -> Iterator[BrazeSdkApi]:
    with BrazeSdkApi(context=tls.server_context()) as api:
        yield api


@pytest.fixture
def site(mpbraze_tls: str, connection: Connection) -> Iterator[str]:
    """The shop's page, on another loopback port, carrying the published SDK and kit files."""
    files = {
        "/mparticle.js": Path(web_sdk_file()).read_bytes(),
        "/BrazeKit.common.js": Path(web_braze_kit_file()).read_bytes(),
    }
    page = PAGE % {"host": mpbraze_tls, "key": connection.web_key, "customer": CUSTOMER}
    with shop_site(page, files) as origin:
        yield origin


def web_kit_outputs(
    connection: Connection, braze: FakeBraze, sdk_api: BrazeSdkApi, origin: str
) -> BrazeOutput:
    """The Web output in kit mode (its JS endpoint the stand-in) and a Server output whose
    REST key could forward to the fake Braze: the Server output is returned."""
    endpoints = {
        "braze_instance": instances.CUSTOM,
        "custom_rest_endpoint": urlsplit(braze.url).netloc,
    }
    add_output(
        connection,
        "web",
        FIRST_KEY,
        allowed_origins=origin,
        delivery_mode=DeliveryMode.KIT,
        external_identity_type="customer_id",
        custom_js_endpoint=sdk_api.endpoint,
        **endpoints,
    )
    return add_output(connection, "server", REST_KEY, **endpoints)


def wait_for(what: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.2)
    return what()


def custom_events_seen(sdk_api: BrazeSdkApi, name: str) -> list[SdkRequest]:
    return [r for r in sdk_api.requests() if name in r.custom_event_names()]


def test_the_real_braze_kit_starts_from_the_web_output_and_mpbraze_forwards_nothing(
    site: str,  # first: a missing SDK or kit file skips before a browser starts
    insecure_browser: Any,
    live_server: Any,
    mpbraze_tls: str,
    sdk_api: BrazeSdkApi,
    connection: Connection,
    marketer: User,
    settings: Any,
) -> None:
    settings.MPBRAZE_FORWARD_LINGER_SECONDS = 0
    # Browsers may keep the configuration this long (300 s by default); at 0 each page load
    # revalidates it (ETag), so the reload below sees the key changed a moment before.
    settings.MPBRAZE_WEB_CONFIG_MAX_AGE_SECONDS = 0
    shop = insecure_browser.new_context()
    page = shop.new_page()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as braze:
        server = web_kit_outputs(connection, braze, sdk_api, site)
        page.goto(site + "/")
        page.wait_for_function("window.done === true", timeout=WAIT_SECONDS * 1000)
        [seen] = wait_for(lambda: custom_events_seen(sdk_api, "Viewed Shoes"))
        assert (seen.api_key, seen.header_api_key) == (FIRST_KEY, FIRST_KEY)
        assert seen.user_id == CUSTOMER
        assert seen.host == sdk_api.endpoint
        assert {r.api_key for r in sdk_api.requests()} == {FIRST_KEY}
        assert wait_for(lambda: uploaded(connection, "Viewed Shoes"))
        statuses = set(InboundBatch.objects.filter(connection=connection).values_list("status"))
        assert statuses == {(InboundBatch.Status.KIT,)}
        assert forwarded(server, braze) == []
        via_api = forwarded_via_events_api(connection, braze, sdk_api, site)

        dashboard = insecure_browser.new_context()
        key_change(dashboard.new_page(), live_server.url, connection)
        dashboard.close()
        sdk_api.reset()
        page.reload()
        page.wait_for_function("window.done === true", timeout=WAIT_SECONDS * 1000)
        # The same visitor, within the SDK's session: the kit starts with the new key (its
        # session opens at once; events follow at Braze's 10 s flush). Its Braze user stays
        # anonymous until the SDK identifies again, at the next session or login: the kit
        # calls changeUser on identity results only, and Braze keeps users per API key.
        assert wait_for(sdk_api.requests)
        assert {r.api_key for r in sdk_api.requests()} == {NEW_KEY}
    shop.close()

    # The same upload posted to /v2/events is forwarded (so "nothing" above is the mode's).
    assert ("events", "Viewed Shoes", CUSTOMER) in via_api
    assert hosts == {urlsplit(site).netloc, mpbraze_tls, sdk_api.endpoint}, "only loopback"


def uploaded(connection: Connection, name: str) -> bool:
    return any(
        e.get("data", {}).get("event_name") == name
        for payload in InboundBatch.objects.filter(connection=connection).values_list(
            "payload", flat=True
        )
        for e in payload.get("events", [])
    )


def forwarded_via_events_api(
    connection: Connection, braze: FakeBraze, sdk_api: BrazeSdkApi, site: str
) -> set[tuple[str, str, str]]:
    """The connection's stored uploads posted to ``/v2/events`` of a twin connection in the
    same kit mode: (kind, event name, external id) of what reaches the fake Braze."""
    twin = Connection.objects.create(name="Twin", slug="twin", inbound_key="mpb_twin")
    server = web_kit_outputs(twin, braze, sdk_api, site)
    sender = Sender(Client(), twin)
    for payload in InboundBatch.objects.filter(connection=connection).values_list(
        "payload", flat=True
    ):
        assert sender.post("/v2/events", payload).status_code == 202
    return {
        (kind, body.get("name", ""), body.get("external_id", ""))
        for kind, body in forwarded(server, braze)
    }


def key_change(page: Any, base_url: str, connection: Connection) -> None:
    """A marketer types the Web output's new API key on its form."""
    sign_in(page, base_url, "marketer")
    page.goto(f"{base_url}{connection.get_absolute_url()}")
    page.click("#output-web >> text=Edit")
    page.fill("#id_api_key", NEW_KEY)
    page.click("text=Save output")
    page.wait_for_url(f"{base_url}{connection.get_absolute_url()}*")
    output = connection.outputs.get(platform="web")
    assert lifecycle.output_api_key(output=output) == NEW_KEY
