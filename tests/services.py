"""How tests find the real services they need, and what happens when one is absent.

With ``MPBRAZE_REQUIRE_SERVICES=1`` (CI) a missing service fails the test; otherwise the
test is skipped with a printed reason.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_SERVICES = os.environ.get("MPBRAZE_REQUIRE_SERVICES", "") not in ("", "0")


def unavailable(reason: str) -> None:
    """Skip, or fail when CI requires every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        unavailable("REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        unavailable(f"Redis at REDIS_URL does not answer: {error}")
    return url


def require_postgresql() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        unavailable("DATABASE_URL does not point at PostgreSQL")


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        unavailable("Debian's chromium is not installed")
    assert path is not None
    return path


def require_broker() -> str:
    """The task broker in force (``CELERY_BROKER_URL``, else ``REDIS_URL``), once it answers:
    the RabbitMQ run (``make test-rabbitmq``) fails here when RabbitMQ is down."""
    from mpbraze.celery import app

    url = str(app.conf.broker_url)
    if url.startswith("filesystem"):
        unavailable("neither CELERY_BROKER_URL nor REDIS_URL is set")
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:
        unavailable(f"the broker at CELERY_BROKER_URL does not answer: {error}")
    return url


#: The real mParticle Web SDK and its Braze kit, installed by ``npm ci --prefix tests/js``
#: (.ci/run does it).
WEB_SDK_FILE = "tests/js/node_modules/@mparticle/web-sdk/dist/mparticle.js"
WEB_BRAZE_KIT_FILE = "tests/js/node_modules/@mparticle/web-braze-kit/dist/BrazeKit.common.js"


def web_sdk_file() -> str:
    """The published Web SDK file the browser tests serve, when it is installed."""
    return _installed_js(WEB_SDK_FILE)


def web_braze_kit_file() -> str:
    """The published Braze web kit (it bundles Braze's Web SDK), when it is installed."""
    return _installed_js(WEB_BRAZE_KIT_FILE)


def _installed_js(relative: str) -> str:
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), relative)
    if not os.path.isfile(path):
        unavailable(f"{relative} is missing: run npm ci --prefix tests/js")
    return path
