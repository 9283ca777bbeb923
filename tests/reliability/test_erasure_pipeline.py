"""An erasure end to end on real parts (issue 24 §3): the mParticle SDK sends two users'
events while Braze fails, so their objects wait in the outbox; a privacy tool submits an
OpenDSR erasure of one of them over HTTP; a real Celery worker deletes them at the fake Braze
(``/users/delete``) and here, the request completes, its signed callbacks arrive and verify
with the standardwebhooks package, and once Braze is back only the other user's objects are
sent. PostgreSQL and Redis as in production (SQLite and the filesystem broker by default)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from django.conf import settings
from standardwebhooks import Webhook

from connections import roles, services
from connections.api.tokens import api_token_create
from connections.dsr.models import DataSubjectRequest
from connections.models import Delivery, InboundBatch
from devtools.fakebraze import FakeBraze
from tests.connections.api_helpers import with_roles
from tests.connections.delivery_helpers import REST_KEY, braze_connection, objects_in
from tests.connections.hooks_helpers import Receiver, receiver
from tests.reliability.conftest import WorkerProcess, wait_until
from tests.reliability.test_pipeline import sdk_batch

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track", "users.delete"}}) as fake:
        yield fake


@pytest.fixture
def controller() -> Iterator[Receiver]:
    with receiver(202) as got:
        yield got


def external_ids(braze: FakeBraze) -> list[str]:
    return [o["body"].get("external_id", "") for o in braze.accepted_objects()]


def test_an_erasure_reaches_braze_forgets_the_user_here_and_nothing_of_theirs_is_sent(
    live_server: Any,
    start_worker: Callable[..., WorkerProcess],
    braze: FakeBraze,
    controller: Receiver,
    sdk_client: Callable[[str, str], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MPBRAZE_DSR_CALLBACK_SECRET", settings.MPBRAZE_DSR_CALLBACK_SECRET)
    connection, secret = services.connection_create(name="Shop")
    braze_connection(connection, braze.url)
    braze.set_faults(error_rate=1.0, error_status=503)  # Braze is down: objects wait
    start_worker()
    sdk = sdk_client(connection.inbound_key, secret)
    sdk.upload_events(sdk_batch("ana", events=2))
    sdk.upload_events(sdk_batch("bo", events=2))
    waiting = Delivery.objects.filter(status="queued", attempts__gte=1)
    wait_until(lambda: objects_in(waiting) == 6, timeout=60, what="6 objects waiting for a retry")

    _, token = api_token_create(user=with_roles("privacy", roles.OPS), scopes=["dsr"])
    request_id = str(uuid.uuid4())
    body = {
        "regulation": "gdpr",
        "subject_request_id": request_id,
        "subject_request_type": "erasure",
        "submitted_time": "2026-12-01T15:00:00Z",
        "subject_identities": {"controller_customer_id": {"value": "ana", "encoding": "raw"}},
        "status_callback_urls": [controller.url("/dsr/callbacks")],
    }
    dsr = httpx.Client(
        base_url=f"{live_server.url}/opendsr/v3",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert dsr.post("/requests", json=body).status_code == 201
    braze.set_faults()  # Braze is back

    def status() -> str:
        return str(dsr.get(f"/requests/{request_id}").json()["request_status"])

    wait_until(lambda: status() == "completed", timeout=60, what="the erasure to complete")
    assert [(d["kind"], d["id"]) for d in braze.deleted_users()] == [("external_ids", "ana")]
    wait_until(lambda: external_ids(braze).count("bo") == 3, timeout=60, what="bo's 3 objects")
    time.sleep(3)  # a retry of ana's rows would have come by now (backoff 1-2 s)
    assert "ana" not in external_ids(braze)
    assert not Delivery.objects.filter(user_key="ana").exists()
    assert not any(
        b["user_identities"].get("customerid") == "ana"
        for b in InboundBatch.objects.values_list("payload", flat=True)
    )
    request = DataSubjectRequest.objects.get()
    assert (request.identities, request.keys) == ([], {})

    wait_until(lambda: len(controller.requests) == 3, timeout=30, what="3 status callbacks")
    verifier = Webhook(settings.MPBRAZE_DSR_CALLBACK_SECRET)
    statuses = [verifier.verify(r.body, r.headers)["request_status"] for r in controller.requests]
    assert statuses == ["pending", "in_progress", "completed"]
