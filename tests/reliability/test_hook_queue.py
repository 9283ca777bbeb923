"""A fan-out of REST hook deliveries never holds back a connectivity check or mapping: a real
worker (on the filesystem broker by default, on Redis or RabbitMQ when configured) takes the
check and the batch while a third of the backlog or more still waits on the hooks queue
(without that queue they came after all of it; on SQLite and the filesystem broker a busy
machine has taken them just past half, so the bound is two thirds)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User

from connections import services
from connections.connectivity.models import ConnectivityCheck
from connections.connectivity.services import connection_test_connectivity
from connections.hooks import services as hook_services
from connections.hooks.models import HookAttempt, HookDelivery
from connections.hooks.services import hook_event_emit, hook_subscription_create
from connections.models import InboundBatch
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY, braze_connection
from tests.connections.hooks_helpers import receiver
from tests.reliability.conftest import WorkerProcess, wait_until
from tests.reliability.test_pipeline import sdk_batch

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Start = Callable[..., WorkerProcess]
EVENT = "connection.paused"
SUBSCRIPTIONS = 30
EVENTS = 10
BACKLOG = SUBSCRIPTIONS * EVENTS


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _local_receivers(settings: Any) -> Iterator[None]:
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = True
    settings.MPBRAZE_ALLOWED_ENDPOINT_HOSTS = []
    hook_services.hook_subscribers_forget()
    yield
    hook_services.hook_subscribers_forget()


def attempts_before(moment: datetime | None) -> int:
    assert moment is not None
    return HookAttempt.objects.filter(at__lt=moment).count()


def test_a_check_and_mapping_are_taken_while_a_hook_backlog_waits(
    start_worker: Start,
    braze: FakeBraze,
    sdk_client: Callable[[str, str], Any],
    ops: User,
) -> None:
    connection, secret = services.connection_create(name="Busy")
    braze_connection(connection, braze.url)
    api = sdk_client(connection.inbound_key, secret)
    with receiver(200, delay=0.1) as hook:
        for _ in range(SUBSCRIPTIONS):
            hook_subscription_create(user=ops, target_url=hook.url(), events=[EVENT])
        start_worker(beat=False)
        for n in range(EVENTS):  # configuration churn: each event goes to every subscription
            hook_event_emit(event=EVENT, connection=connection, data={"n": n})
        assert HookDelivery.objects.count() == BACKLOG
        checks = connection_test_connectivity(connection=connection)
        api.upload_events(sdk_batch("ana", events=1))

        def check_and_mapping_done() -> bool:
            pending = ConnectivityCheck.objects.filter(outcome=ConnectivityCheck.Outcome.PENDING)
            mapped = InboundBatch.objects.filter(mapped_at__isnull=False).exists()
            return mapped and not pending.exists()

        wait_until(check_and_mapping_done, timeout=180, what="the check and the mapping")
        batch = InboundBatch.objects.get()
        succeeded = HookDelivery.objects.filter(status=HookDelivery.Status.SUCCEEDED)
        # Recorded after the receiver answered: wait for the records, not the requests.
        wait_until(
            lambda: succeeded.count() >= BACKLOG, timeout=180, what="every hook delivery recorded"
        )
    # The checks and the batch were published after the whole backlog: on one shared queue
    # they ran after it.
    for check in ConnectivityCheck.objects.filter(pk__in=[c.pk for c in checks]):
        assert check.outcome == ConnectivityCheck.Outcome.PASSED, check.summary
        assert attempts_before(check.finished_at) < BACKLOG * 2 / 3
    assert attempts_before(batch.mapped_at) < BACKLOG * 2 / 3
    assert HookDelivery.objects.filter(status=HookDelivery.Status.SUCCEEDED).count() == BACKLOG
    assert len(hook.requests) == BACKLOG  # each sent once
