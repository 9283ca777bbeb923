"""The real ``@mparticle/web-sdk`` aliases the anonymous user a visitor was to the user they log
in as (``mParticle.Identity.aliasUsers``): its request, over TLS as the SDK always sends it,
is recorded by mpbraze with the MPIDs the Identity API issued, and the page's callback hears
202."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connections.identity.models import IdentityAlias, IdentityRecord
from connections.models import Connection
from tests.conftest import add_output
from tests.e2e.helpers import shop_site
from tests.services import web_sdk_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CUSTOMER = "cust-alias-1"
PAGE = """<!doctype html><html><head><script src="/mparticle.js"></script></head><body><script>
var host = "%(host)s";
mParticle.init("%(key)s", {
  isDevelopmentMode: true, requestConfig: false, logLevel: "none",
  identityUrl: host + "/identity/v1/", v3SecureServiceUrl: host + "/v3/JS/",
  configUrl: host + "/JS/v2/", aliasUrl: host + "/v1/identity/",
  identityCallback: function (first) {
    var anonymous = first.getUser();
    window.anonymous = anonymous.getMPID();
    mParticle.Identity.login({userIdentities: {customerid: "%(customer)s"}}, function (login) {
      var known = login.getUser();
      window.known = known.getMPID();
      var request = mParticle.Identity.createAliasRequest(anonymous, known);
      mParticle.Identity.aliasUsers(request, function (answer) {
        window.aliasCode = answer.httpCode;
      });
    });
  }
});
</script></body></html>"""


@pytest.fixture
def site(mpbraze_tls: str, connection: Connection) -> Iterator[str]:
    page = PAGE % {"host": mpbraze_tls, "key": connection.web_key, "customer": CUSTOMER}
    with shop_site(page, {"/mparticle.js": Path(web_sdk_file()).read_bytes()}) as origin:
        yield origin


def test_the_sdk_aliases_the_anonymous_visitor_to_the_user_who_logged_in(
    site: str,  # first: a missing SDK file skips before a browser starts
    insecure_browser: Any,
    connection: Connection,
) -> None:
    add_output(connection, "web", "web-app-key-0001", allowed_origins=site)
    shop = insecure_browser.new_context()
    page = shop.new_page()
    page.goto(site + "/")
    page.wait_for_function("window.aliasCode !== undefined", timeout=30_000)
    assert page.evaluate("window.aliasCode") == 202
    anonymous, known = int(page.evaluate("window.anonymous")), int(page.evaluate("window.known"))
    shop.close()

    assert anonymous != known
    assert (
        IdentityRecord.objects.get(connection=connection, identity_type="customerid").mpid == known
    )
    alias = IdentityAlias.objects.get(connection=connection)
    assert (alias.source_mpid, alias.destination_mpid) == (anonymous, known)
    assert alias.starts_at <= alias.ends_at
