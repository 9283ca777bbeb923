"""Failures made by the real pipeline (the mParticle SDK posting, a Celery worker mapping and
forwarding to a fake Braze), read in the audit admin and replayed by Ops after the cause is
fixed: each row reaches Braze once, a second replay sends nothing, a forced one resends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from connections import services
from connections.audit.models import FailureGroup, ReplayRun
from connections.connectivity.services import connection_test_connectivity
from connections.models import Connection, Delivery
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY, braze_connection
from tests.reliability.conftest import WorkerProcess, wait_until
from tests.reliability.test_pipeline import sdk_batch

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Start = Callable[..., WorkerProcess]
USERS = ("ana", "bo", "cy")


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


def delivered(braze: FakeBraze) -> Counter[tuple[str, str]]:
    """How many times Braze accepted each (user, event name or "attributes")."""
    return Counter(
        (o["body"]["external_id"], o["body"].get("name", "attributes"))
        for o in braze.accepted_objects()
    )


def settled() -> bool:
    return not Delivery.objects.filter(status__in=["queued", "sending"]).exists()


def replay_in_admin(client: Client, **form: str) -> ReplayRun:
    url = reverse("admin:connections_failedsend_replay")
    assert client.post(url + "?kind=dead&state=all", form).status_code == 302
    run = ReplayRun.objects.latest("pk")
    finished = ("done", "refused", "failed")
    wait_until(
        lambda: ReplayRun.objects.get(pk=run.pk).status in finished, timeout=30, what="the run"
    )
    return ReplayRun.objects.get(pk=run.pk)


def test_dead_rows_of_the_pipeline_are_grouped_refused_while_paused_and_replayed_once(
    start_worker: Start,
    braze: FakeBraze,
    sdk_client: Callable[[str, str], Any],
    ops: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MPBRAZE_RETRY_MAX_ATTEMPTS", "2")  # the worker's: two 5xx and dead
    connection, secret = services.connection_create(name="Audited")
    braze_connection(connection, braze.url)
    api = sdk_client(connection.inbound_key, secret)
    braze.set_faults(error_rate=1.0, error_status=503)
    start_worker()
    api.bulk_upload_events([sdk_batch(user, events=2) for user in USERS])
    wait_until(
        lambda: Delivery.objects.filter(status="dead").count() == 9, timeout=60, what="9 dead"
    )
    group = FailureGroup.objects.get()
    assert (group.kind, group.status_class, group.count, group.status) == ("dead", "5xx", 9, "open")

    braze.set_faults()
    braze.remove_key(REST_KEY)  # the key is revoked: the next send pauses the connection
    api.upload_events(sdk_batch("dee", events=1))
    wait_until(lambda: Connection.objects.get().paused_reason != "", timeout=30, what="pause")
    client = Client()
    client.force_login(ops)
    refused = replay_in_admin(client)
    assert refused.status == "refused"
    assert "paused" in refused.outcome

    braze.set_key(REST_KEY)  # fixed: a passing connectivity check resumes the connection
    connection_test_connectivity(connection=Connection.objects.get())
    wait_until(lambda: Connection.objects.get().paused_reason == "", timeout=30, what="resume")
    run = replay_in_admin(client)
    assert (run.status, run.matched, run.acted) == ("done", 9, 9)
    wait_until(settled, timeout=30, what="the replayed rows sent")
    once = delivered(braze)
    assert sorted(once) == sorted(
        [(u, n) for u in USERS for n in ("attributes", "Played 0", "Played 1")]
        + [("dee", "attributes"), ("dee", "Played 0")]
    )
    assert set(once.values()) == {1}
    assert FailureGroup.objects.get().status == "resolved"

    call_command("replay", connection=connection.pk)  # nothing is open any more: no send
    again = replay_in_admin(client)
    assert (again.acted, again.skipped_accepted) == (0, 9)
    forced = replay_in_admin(client, force="on")
    assert forced.acted == 9
    wait_until(settled, timeout=30, what="the forced rows sent")
    twice = delivered(braze)
    assert all(twice[(u, n)] == 2 for u in USERS for n in ("attributes", "Played 0", "Played 1"))
    assert twice[("dee", "Played 0")] == 1
