"""deploy/nginx.conf in front of the compose file's web: requests pass through with their Host,
and slow bodies stay in nginx (gunicorn never sees them) while other requests answer at once."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connections import services
from tests.production.stack import PROXY_HEADERS, Stack
from tests.production.test_compose_stack import slow_bodies
from tests.reliability.processes import LOOPBACK, ROOT, RedisServer, _stop, free_port, port_open
from tests.services import require_postgresql, unavailable

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
CONFIG = ROOT / "deploy" / "nginx.conf"


def nginx_config(tmp: Path, listen: int, upstream: str) -> Path:
    """deploy/nginx.conf with the compose network's names and the container's paths swapped."""
    text = CONFIG.read_text()
    for inside, outside in [
        ("listen 8080;", f"listen {LOOPBACK}:{listen};"),
        ("server web:8000;", f"server {upstream};"),
        ("/tmp/", f"{tmp}/"),
    ]:
        assert inside in text, f"{inside!r} is no longer in {CONFIG.name}"
        text = text.replace(inside, outside)
    path = tmp / "nginx.conf"
    path.write_text(text)
    return path


def server_connections(port: int) -> int:
    """Established TCP connections whose local end is ``port`` (the server's side)."""
    count = 0
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for line in table.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            count += int(local.rsplit(":", 1)[1], 16) == port and state == "01"
    return count


@pytest.fixture
def proxied_web(tmp_path: Path, transactional_db: None) -> Iterator[tuple[Stack, int]]:
    require_postgresql()
    binary = shutil.which("nginx") or (shutil.which("nginx", path="/usr/sbin") or "")
    if not binary:
        unavailable("nginx is not installed (apt-get install nginx-light)")
    redis = RedisServer(tmp_path / "redis")
    stack = Stack(tmp_path, redis.url, queue=f"mpbraze-prod-{uuid.uuid4().hex[:8]}")
    port = free_port()
    config = nginx_config(tmp_path, port, f"{LOOPBACK}:{stack.port}")
    # As root, nginx's workers would switch to "nobody", who cannot enter pytest's folders.
    command = [binary, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off; user root;"]
    nginx = subprocess.Popen(command, cwd=tmp_path, start_new_session=True, text=True)
    try:
        stack.start("web", "web")
        stack.healthy("web", "web")
        deadline = time.monotonic() + 10
        while not port_open(port):
            assert nginx.poll() is None, "nginx exited"
            assert time.monotonic() < deadline, "nginx did not listen within 10 s"
            time.sleep(0.1)
        yield stack, port
    finally:
        _stop(nginx, 5)
        stack.stop()
        redis.stop()


def test_the_proxy_holds_slow_bodies_while_other_requests_pass(
    proxied_web: tuple[Stack, int],
) -> None:
    stack, port = proxied_web
    connection, secret = services.connection_create(name="Behind the proxy")
    credentials = base64.b64encode(f"{connection.inbound_key}:{secret}".encode()).decode()
    url = f"http://{LOOPBACK}:{port}/healthz"
    assert httpx.get(url, headers=PROXY_HEADERS, trust_env=False).status_code == 200
    # More stalled bodies than gunicorn has threads (2 workers x 8).
    stalled = slow_bodies(port, 24, credentials)
    time.sleep(0.5)
    try:
        started = time.monotonic()
        answer = httpx.get(url, headers=PROXY_HEADERS, timeout=10, trust_env=False)
        seconds = time.monotonic() - started
        assert (answer.status_code, seconds < 1.0) == (200, True), f"{seconds:.1f} s"
        # nginx keeps the stalled bodies: gunicorn holds only the kept-alive upstream connection.
        assert server_connections(stack.port) <= 2
    finally:
        for sock in stalled:
            sock.close()
