"""A real browser: Playwright driving Debian's Chromium against the live test server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.services import chromium_path

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


ALLOW_ASYNC = "DJANGO_ALLOW_ASYNC_UNSAFE"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Playwright's sync API runs an event loop, so Django's async-safety check must allow the
    ORM from a browser test's setup to the end of its teardown (fixtures included), and only
    then: ``check --deploy`` reports the variable (async.E001) to any test that runs later."""
    item.stash[_previous] = os.environ.get(ALLOW_ASYNC)
    os.environ[ALLOW_ASYNC] = "true"
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    finally:
        previous = item.stash.get(_previous, None)
        if previous is None:
            os.environ.pop(ALLOW_ASYNC, None)
        else:
            os.environ[ALLOW_ASYNC] = previous


_previous = pytest.StashKey[str | None]()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
