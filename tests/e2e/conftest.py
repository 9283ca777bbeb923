"""A real browser: Playwright driving Debian's Chromium against the live test server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.tls import Certificate, certificate, tls_proxy
from tests.services import chromium_path

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """Playwright for the session. Its sync API keeps an asyncio loop running in this thread
    while it lives, so Django's async-safety check must allow the ORM for that long, and no
    longer: the variable is restored when it stops (and the ``check --deploy`` tests clear it
    for themselves, async.E001 would name it)."""
    chromium_path()
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as environment, sync_playwright() as playwright:
        environment.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    """One Chromium for the session, checking certificates as browsers do."""
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
    yield browser
    browser.close()


@pytest.fixture
def insecure_browser(playwright: Any) -> Iterator[Any]:
    """A Chromium of its own that accepts any certificate, for the tests whose loopback
    servers speak TLS with a self-signed certificate (``tests/e2e/tls.py``). Never the
    shared ``browser``: every other test keeps certificate checks."""
    flags = [*CHROMIUM_FLAGS, "--ignore-certificate-errors"]
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=flags)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def tls() -> Iterator[Certificate]:
    with certificate() as made:
        yield made


@pytest.fixture
def mpbraze_tls(live_server: Any, tls: Certificate) -> Iterator[str]:
    """mpbraze behind TLS: ``127.0.0.1:PORT`` (the SDK adds ``https://``)."""
    with tls_proxy(urlsplit(live_server.url).port or 80, tls.server_context()) as port:
        yield f"127.0.0.1:{port}"
