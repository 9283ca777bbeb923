"""Braze hostnames on the connection page wrap where a line would overflow and at a hyphen or
dot, not mid-word wherever the line ends (``word-break: break-all`` did that)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from django.contrib.auth.models import User

from connections.models import Connection
from tests.conftest import add_output
from tests.e2e.helpers import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The text of an element split into the lines the browser laid it out on.
LINES = """(element) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT), lines = [];
  let top = null;
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    for (let i = 0; i < text.length; i++) {
      const range = document.createRange();
      range.setStart(text, i); range.setEnd(text, i + 1);
      const y = Math.round(range.getBoundingClientRect().top);
      if (y !== top) { lines.push(""); top = y; }
      lines[lines.length - 1] += text.data[i];
    }
  }
  return lines;
}"""


@pytest.mark.parametrize("width", [1280, 375])
def test_braze_hosts_break_only_at_a_hyphen_or_a_dot(
    page: Any, live_server: Any, marketer: User, connection: Connection, width: int
) -> None:
    add_output(connection, "ios", "ios-app-key-0001", braze_instance="US-03")
    add_output(
        connection,
        "web",
        "web-app-key-0001",
        braze_instance="custom",
        custom_rest_endpoint="rest.fra-02.braze.eu",
        custom_sdk_endpoint="sdk.fra-02.braze.eu",
    )
    sign_in(page, live_server.url, "marketer")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}{connection.get_absolute_url()}")
    hosts = page.locator(".output dd > code:not(.masked-key)")
    assert hosts.count() >= 4
    for index in range(hosts.count()):
        lines = hosts.nth(index).evaluate(LINES)
        breaks = pairwise(lines)
        assert all(before[-1] in ".-" or after[0] == "." for before, after in breaks), lines
    screenshot(page, "connection-hostnames")
