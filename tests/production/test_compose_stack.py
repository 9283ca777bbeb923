"""docker-compose.yml run as production runs it: its web, two workers and beat commands with
their environment (DEBUG=0), PostgreSQL and a Redis of the test's own in place of the compose
network's, the real mParticle SDK sending and a fake Braze receiving (issue 13, point 3)."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mparticle
import pytest

from connections import services
from connections.models import Delivery
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY, braze_connection, objects_in
from tests.mparticle_sdk import _hang_up, sdk_config
from tests.production.stack import PROXY_HEADERS, Stack
from tests.reliability.conftest import wait_until
from tests.reliability.processes import LOOPBACK, RedisServer
from tests.reliability.test_pipeline import sdk_batch
from tests.services import require_postgresql

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    require_postgresql()
    redis = RedisServer(tmp_path / "redis")
    running = Stack(tmp_path, redis.url, queue=f"mpbraze-prod-{uuid.uuid4().hex[:8]}")
    try:
        yield running
    finally:
        running.stop()
        redis.stop()


def sdk_api(url: str, key: str, secret: str) -> Any:
    """The SDK as mParticle's servers use it, through the TLS proxy (its forwarded headers)."""
    api = mparticle.EventsApi(sdk_config(url, key, secret))
    for header, value in PROXY_HEADERS.items():
        api.api_client.default_headers[header] = value
    return api


def slow_bodies(port: int, count: int, credentials: str) -> list[socket.socket]:
    """Authenticated connections that announce 1,000 bytes of body and send 10: the server
    must read the body to answer them."""
    head = (
        f"POST /v2/events HTTP/1.1\r\nHost: {PROXY_HEADERS['Host']}\r\n"
        f"Authorization: Basic {credentials}\r\n"
        "X-Forwarded-Proto: https\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    sockets = []
    for _ in range(count):
        stalled = socket.create_connection((LOOPBACK, port), timeout=5)
        stalled.sendall(head.encode() + b'{"events":')
        sockets.append(stalled)
    return sockets


def assert_static_files_served(stack: Stack, url: str) -> None:
    """WhiteNoise under gunicorn: the collected files, hashed names cached for ten years."""
    manifest = json.loads((stack.tmp / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    plain = httpx.get(f"{url}/static/admin/css/base.css", headers=PROXY_HEADERS, trust_env=False)
    assert plain.status_code == 200
    answer = httpx.get(f"{url}/static/{hashed}", headers=PROXY_HEADERS, trust_env=False)
    assert answer.status_code == 200
    assert "max-age=315360000" in answer.headers["cache-control"]
    assert "immutable" in answer.headers["cache-control"]


def test_the_compose_stack_runs_serves_forwards_and_stops_as_in_production(
    stack: Stack, braze: FakeBraze, transactional_db: None
) -> None:
    web_env = stack.environment("web", "web")
    # The image build: collectstatic. Then Django's deploy checklist on the compose settings.
    stack.run(["python", "manage.py", "collectstatic", "--noinput"], web_env)
    checked = stack.run(
        ["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"], web_env
    )
    assert "no issues" in checked

    connection, secret = services.connection_create(name="Production")
    braze_connection(connection, braze.url)
    # The fake Braze listens on loopback, which production refuses as an endpoint.
    local = {"MPBRAZE_ALLOW_LOCAL_ENDPOINTS": "1"}
    stack.start("web", "web")
    stack.start("worker", "worker1", **local)
    stack.start("worker", "worker2", **local)
    stack.start("beat", "beat")
    for name, instance in [("web", "web"), ("worker", "worker1"), ("worker", "worker2")]:
        stack.healthy(name, instance)
    url = f"http://{LOOPBACK}:{stack.port}"
    # The broker in force: Redis, or RabbitMQ in make test-rabbitmq's run.
    scheme = (os.environ.get("CELERY_BROKER_URL") or "redis://").split("://")[0]
    assert f"transport:   {scheme}://" in stack.log("worker1", lines=200)

    # Slow clients hold a thread each, not the server: a normal request still answers at once.
    credentials = base64.b64encode(f"{connection.inbound_key}:{secret}".encode()).decode()
    stalled = slow_bodies(stack.port, 2, credentials)
    time.sleep(0.5)  # both are past their headers and waiting for the rest of the body
    # They stay open past this request's 5 s (nginx gives up on them after 10 s, gunicorn
    # after 30 s): a server they held could not answer it.
    answer = httpx.get(f"{url}/healthz", headers=PROXY_HEADERS, timeout=5, trust_env=False)
    assert answer.status_code == 200
    for sock in stalled:
        sock.close()

    api = sdk_api(url, connection.inbound_key, secret)
    try:
        api.upload_events(sdk_batch("customer-1", events=2))
        wait_until(lambda: len(braze.accepted_objects()) == 3, timeout=30, what="3 at Braze")
        braze.set_faults(latency_ms=3000)  # the next send is still in flight at SIGTERM
        api.upload_events(sdk_batch("customer-2", events=40, start_ms=1_764_400_000_000))
    finally:
        _hang_up(api.api_client.rest_client.pool_manager)
    assert_static_files_served(stack, url)
    claimed = Delivery.objects.filter(status=Delivery.Status.SENDING)
    wait_until(claimed.exists, timeout=30, what="a claimed row")
    claimed_ids = list(claimed.values_list("id", flat=True))
    took = stack.terminate_all()
    slow = {name: s for name, s in took.items() if s == float("inf")}
    assert not slow, f"past their stop grace period: {slow}\n" + stack.log(next(iter(slow)))
    # Nothing is left claimed by a process that is gone: finished, or back in the queue.
    assert not Delivery.objects.filter(status=Delivery.Status.SENDING).exists()
    finished = Delivery.objects.filter(id__in=claimed_ids, status__in=["sent", "queued"])
    assert finished.count() == len(claimed_ids)
    assert objects_in(Delivery.objects.filter(status=Delivery.Status.SENT)) >= 3
