"""An ops script drives mpbraze through its REST API only, as a deployment tool would: with a
token it creates a connection and its outputs, subscribes a REST hook to a local receiver,
tests the connection and gets a signed ``connection.test_failed`` for a bad key, sees the
pause when data arrives, fixes the key and gets ``connection.test_succeeded`` and
``connection.resumed``, then lists the rows that died during a Braze outage and replays them.
PostgreSQL, Redis, a real Celery worker, the mParticle SDK and HTTP all the way (issue 11)."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from standardwebhooks import Webhook

from connections import roles
from connections.api.tokens import api_token_create
from devtools.fakebraze import FakeBraze
from tests.connections.api_helpers import with_roles
from tests.connections.delivery_helpers import REST_KEY
from tests.connections.hooks_helpers import Receiver, receiver
from tests.reliability.conftest import WorkerProcess, wait_until
from tests.reliability.test_pipeline import sdk_batch

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
EVENTS = [
    "connection.test_failed",
    "connection.test_succeeded",
    "connection.paused",
    "connection.resumed",
    "delivery.dead_lettered",
]


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver(200) as got:
        yield got


class OpsScript:
    """What an operator's script does: JSON over HTTP with a bearer token."""

    def __init__(self, base_url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        self.http = httpx.Client(base_url=f"{base_url}/api/v1/", headers=headers, timeout=10)

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def wait_for_test(self, check_id: int) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while (check := self.call("GET", f"tests/{check_id}"))["outcome"] == "pending":
            assert time.monotonic() < deadline, "the connectivity test did not finish"
            time.sleep(0.2)
        finished: dict[str, Any] = check
        return finished


def hook_events(hooks: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every hook received so far, each verified with the standardwebhooks package."""
    verifier = Webhook(secret)
    return [verifier.verify(r.body, r.headers) for r in hooks.requests]


def wait_for_hook(hooks: Receiver, secret: str, event: str) -> dict[str, Any]:
    wait_until(
        lambda: any(e["type"] == event for e in hook_events(hooks, secret)),
        timeout=30,
        what=f"a signed {event} hook",
    )
    return next(e for e in hook_events(hooks, secret) if e["type"] == event)


def test_an_ops_script_configures_tests_watches_and_replays_through_the_api(
    live_server: Any,
    start_worker: Callable[..., WorkerProcess],
    braze: FakeBraze,
    hooks: Receiver,
    sdk_client: Callable[[str, str], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MPBRAZE_RETRY_MAX_ATTEMPTS", "2")  # the worker's: two 5xx and dead
    operator: User = with_roles("deployer", roles.MARKETER, roles.OPS)
    _, token = api_token_create(user=operator, scopes=["read", "write", "replay"])
    ops = OpsScript(live_server.url, token)
    start_worker()
    fake_braze = {"braze_instance": "custom", "custom_rest_endpoint": urlsplit(braze.url).netloc}

    created = ops.call(
        "POST",
        "connections",
        {
            "name": "Shop app",
            "outputs": [
                {"platform": "ios", "api_key": "ios-app-key-0001", **fake_braze},
                {"platform": "server", "api_key": "a-wrong-rest-key", **fake_braze},
            ],
        },
        expect=201,
    )
    connection_id = created["id"]
    hook = ops.call("POST", "hooks", {"target_url": hooks.url(), "events": EVENTS}, expect=201)

    # A bad key: the test fails, and the hook says so, signed.
    (check,) = ops.call(
        "POST", f"connections/{connection_id}/tests", {"platform": "server"}, expect=202
    )
    assert ops.wait_for_test(check["id"])["outcome"] == "failed"
    failed = wait_for_hook(hooks, hook["secret"], "connection.test_failed")
    assert failed["data"]["connection"]["id"] == connection_id
    assert "401" in failed["data"]["check"]["summary"]

    # Data arrives with the bad key: Braze answers 401, forwarding pauses, nothing is lost.
    sdk = sdk_client(created["inbound_key"], created["inbound_secret"])
    sdk.upload_events(sdk_batch("ana", events=2))
    wait_for_hook(hooks, hook["secret"], "connection.paused")
    assert ops.call("GET", f"connections/{connection_id}")["status"] == "paused"

    # The fix: the key is changed over the API, which tests it; the pass resumes forwarding.
    ops.call("PATCH", f"connections/{connection_id}/outputs/server", {"api_key": REST_KEY})
    wait_for_hook(hooks, hook["secret"], "connection.test_succeeded")
    wait_for_hook(hooks, hook["secret"], "connection.resumed")
    wait_until(lambda: len(braze.accepted_objects()) == 3, timeout=30, what="ana's 3 objects")

    # A Braze outage kills the next rows; once it is over, they are listed and replayed.
    braze.set_faults(error_rate=1.0, error_status=503)
    sdk.upload_events(sdk_batch("bo", events=2))
    dead = f"failed-sends?connection={connection_id}&status=dead"
    wait_until(lambda: len(ops.call("GET", dead)["items"]) == 3, timeout=60, what="3 dead rows")
    braze.set_faults()

    selection = {"filter": {"connection": str(connection_id), "status": "dead"}}
    dry_run = ops.call("POST", "replays", selection)
    assert (dry_run["dry_run"], dry_run["to_send"]) == (True, 3)
    (run,) = ops.call("POST", "replays", {**selection, "confirm": True}, expect=202)["runs"]
    wait_until(
        lambda: ops.call("GET", f"replays/{run['id']}")["status"] == "done",
        timeout=30,
        what="the replay run",
    )
    wait_until(lambda: len(braze.accepted_objects()) == 6, timeout=30, what="bo's 3 objects")
    delivered = Counter(o["body"]["external_id"] for o in braze.accepted_objects())
    assert delivered == {"ana": 3, "bo": 3}  # each object once
    assert ops.call("GET", dead)["items"] == []
    assert all(r.headers["webhook-id"].startswith("msg_") for r in hooks.requests)
    assert json.loads(hooks.requests[0].body)["type"] == "connection.test_failed"
