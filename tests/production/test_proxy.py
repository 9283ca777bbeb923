"""deploy/nginx.conf in front of the compose file's web: requests pass through with their Host,
and slow bodies stay in nginx (gunicorn never sees them) while other requests answer at once."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from connections import services
from tests.production.stack import ALLOWED_HOST, PROXY_HEADERS, Stack
from tests.production.test_compose_stack import slow_bodies
from tests.reliability.processes import LOOPBACK, ROOT, RedisServer, _stop, free_port, port_open
from tests.services import require_postgresql, unavailable

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
CONFIG = ROOT / "deploy" / "nginx.conf"
TLS_TERMINATOR = LOOPBACK  # the test's clients stand for the TLS terminator in front of nginx
ELSEWHERE = "127.0.0.2"  # a client that is neither the proxy nor the TLS terminator


def nginx_config(tmp: Path, listen: int, upstream: str) -> Path:
    """deploy/nginx.conf with the compose network's names and the container's paths swapped,
    and the test's own address listed as the TLS terminator in front (whose X-Forwarded-Proto
    nginx passes on), as an operator lists their load balancer."""
    text = CONFIG.read_text()
    for inside, outside in [
        ("listen 8080;", f"listen {LOOPBACK}:{listen};"),
        ("        default 0;\n", f"        default 0;\n        {TLS_TERMINATOR} 1;\n"),
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
        # The image build collects static files: the error pages name them too.
        stack.run(
            ["python", "manage.py", "collectstatic", "--noinput"], stack.environment("web", "web")
        )
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
        # The stalled bodies stay open past this request's 5 s (nginx gives up on them after
        # 10 s, gunicorn after 30 s): a server they held could not answer it.
        answer = httpx.get(url, headers=PROXY_HEADERS, timeout=5, trust_env=False)
        assert answer.status_code == 200
        # nginx keeps the stalled bodies: gunicorn holds only the kept-alive upstream connection.
        assert server_connections(stack.port) <= 2
    finally:
        for sock in stalled:
            sock.close()


def valid_batch(n: int) -> bytes:
    event = {"event_type": "custom_event", "data": {"event_name": f"Kept {n}"}}
    body = {"user_identities": {"customerid": f"u{n}"}, "events": [event]}
    return json.dumps(body).encode()


def inbound_client(base: str, credentials: str) -> httpx.Client:
    """One persistent connection (keep-alive), as an SDK's HTTP client holds."""
    headers = {**PROXY_HEADERS, "Authorization": f"Basic {credentials}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.Client(base_url=base, headers=headers, limits=limits, trust_env=False, timeout=10)


def test_a_refused_large_body_leaves_the_next_request_on_the_connection_working(
    proxied_web: tuple[Stack, int],
) -> None:
    """Directly on gunicorn and through nginx: a 300 KB body refused with 413, a 200 KB body
    with a wrong secret refused with 403 and a 150 KB form refused by CSRF; the valid batch
    sent next on the same connection is accepted every time."""
    stack, port = proxied_web
    connection, secret = services.connection_create(name="Kept alive")
    good = base64.b64encode(f"{connection.inbound_key}:{secret}".encode()).decode()
    wrong = base64.b64encode(f"{connection.inbound_key}:not-the-secret".encode()).decode()
    refusals = [
        ("/v2/events", good, b"[" + b" " * 300_000 + b"]", 413),
        ("/v2/events", wrong, b"{" + b" " * 200_000 + b"}", 403),
        ("/login/", good, b"username=x&password=" + b"y" * 150_000, 403),
    ]
    for base in (f"http://{LOOPBACK}:{stack.port}", f"http://{LOOPBACK}:{port}"):
        with inbound_client(base, good) as client:
            for n, (path, credentials, body, status) in enumerate(refusals * 5):
                auth = {"Authorization": f"Basic {credentials}"}
                refused = client.post(path, content=body, headers=auth)
                assert refused.status_code == status, (base, path, refused.text[:200])
                accepted = client.post("/v2/events", content=valid_batch(n))
                assert accepted.status_code == 202, (base, path, accepted.text[:300])


def test_mixed_traffic_through_the_proxy_loses_no_valid_request(
    proxied_web: tuple[Stack, int],
) -> None:
    """Two clients send bodies refused by gunicorn (a wrong secret, 200 KB) or by nginx (over
    256 KiB) while two send valid batches, over nginx's kept-alive upstream connections: every
    valid batch is accepted and every oversized one gets nginx's 413 in the API's shape."""
    _stack, port = proxied_web
    connection, secret = services.connection_create(name="Mixed traffic")
    good = base64.b64encode(f"{connection.inbound_key}:{secret}".encode()).decode()
    # Another connection's key: wrong secrets are throttled per key and address.
    other = services.connection_create(name="Guessed")[0]
    wrong = base64.b64encode(f"{other.inbound_key}:not-the-secret".encode()).decode()
    base = f"http://{LOOPBACK}:{port}"
    rounds = 40  # within the 60 failures a minute one key may see from one address

    def refused(credentials: str, size: int) -> Counter[int]:
        with inbound_client(base, credentials) as client:
            body = b"{" + b" " * size + b"}"
            return Counter(
                client.post("/v2/events", content=body).status_code for _ in range(rounds)
            )

    def valid(offset: int) -> Counter[int]:
        with inbound_client(base, good) as client:
            return Counter(
                client.post("/v2/events", content=valid_batch(offset + n)).status_code
                for n in range(rounds)
            )

    with ThreadPoolExecutor(4) as pool:
        wrong_secret = pool.submit(refused, wrong, 200_000)
        oversized = pool.submit(refused, good, 300_000)
        batches = [pool.submit(valid, offset) for offset in (0, 10_000)]
        answers = [future.result(timeout=120) for future in (wrong_secret, oversized, *batches)]
    assert (
        answers == [Counter({403: rounds}), Counter({413: rounds})] + [Counter({202: rounds})] * 2
    )
    too_large = httpx.post(
        f"{base}/v2/events", content=b" " * 300_000, headers=PROXY_HEADERS, trust_env=False
    )
    assert too_large.json()["errors"][0]["code"] == "PAYLOAD_TOO_LARGE"


def test_only_the_proxy_says_a_request_came_over_https(proxied_web: tuple[Stack, int]) -> None:
    """nginx sends the scheme it saw, whatever the client claims, and gunicorn believes
    X-Forwarded-Proto from the proxy's address only (FORWARDED_ALLOW_IPS)."""
    stack, port = proxied_web
    claim = {"Host": ALLOWED_HOST, "X-Forwarded-Proto": "https"}
    elsewhere = httpx.Client(
        transport=httpx.HTTPTransport(local_address=ELSEWHERE), trust_env=False
    )
    with elsewhere:
        through_proxy = elsewhere.get(
            f"http://{LOOPBACK}:{port}/api/v1/openapi.json", headers=claim
        )
        assert through_proxy.status_code == 301
        assert through_proxy.headers["location"] == f"https://{ALLOWED_HOST}/api/v1/openapi.json"
        direct = f"http://{LOOPBACK}:{stack.port}/api/v1/openapi.json"
        assert elsewhere.get(direct, headers=claim).status_code == 301
    # The TLS terminator's claim passes nginx; gunicorn believes the proxy's address.
    from_the_terminator = httpx.get(f"http://{LOOPBACK}:{port}/api/v1/openapi.json", headers=claim)
    assert from_the_terminator.status_code == 200
    assert httpx.get(direct, headers=claim, trust_env=False).status_code == 200
