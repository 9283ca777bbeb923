"""What browser tests share: signing in, screenshots at desktop and phone width, a shop's site
carrying the real SDK files, and what the real SDKs' uploads become at the fake Braze."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from connections.delivery.forwarder import output_forward
from connections.delivery.mapping_service import batches_map
from connections.models import BrazeOutput, InboundBatch
from devtools.fakebraze import FakeBraze
from tests.conftest import PASSWORD
from tests.stdlib_server import local_server

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".local" / "screenshots"
WIDTHS = (1280, 375)


def sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def screenshot(page: Any, name: str) -> None:
    """The page at 1280 and 375 px (git-ignored), for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def forwarded(
    output: BrazeOutput, braze: FakeBraze, *, batch_ids: list[int] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """What reaches the fake Braze when the output's connection's batches are mapped and sent
    (the real mapping and forwarding path, run here rather than by a worker); ``batch_ids``
    maps those of them only (a snapshot another list was taken from). Forwarding runs
    again, as the worker's next message would, while it says rows are held back or left (on
    a loaded machine, a pass may end before every row went out)."""
    before = len(braze.accepted_objects())
    ids = batch_ids or list(
        InboundBatch.objects.filter(connection=output.connection)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    batches_map(batch_ids=ids)
    deadline = time.monotonic() + 30
    while (again := output_forward(output_id=output.pk)) is not None:
        assert time.monotonic() < deadline, "rows of the output are still waiting to be sent"
        time.sleep(min(again, 0.2))
    return [(o["kind"], o["body"]) for o in braze.accepted_objects()[before:]]


@contextmanager
def shop_site(page: str, scripts: Mapping[str, bytes]) -> Iterator[str]:
    """A shop's site on its own loopback port (another origin than mpbraze): ``scripts`` by
    path (the published SDK files), any other path the HTML ``page``. Yields its origin."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        if path in scripts:
            body, kind = scripts[path], "application/javascript"
        else:
            body, kind = page.encode(), "text/html"
        handler.send_response(200)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with local_server(respond) as (port, _):
        yield f"http://127.0.0.1:{port}"
