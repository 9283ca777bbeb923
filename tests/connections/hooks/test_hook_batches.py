"""REST hook delivery on a queue of its own, a batch of deliveries per task: a fan-out of hook
deliveries never queues ahead of mapping or a connectivity check, on either broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.utils import timezone

from connections.delivery.sweeper import _queue_depth
from connections.hooks import batch, sending, tasks
from connections.hooks.models import HookDelivery
from connections.hooks.services import hook_event_emit, hook_subscription_create
from devtools import devstack
from mpbraze.celery import app, hooks_queue
from mpbraze.publish import publish
from tests.conftest import TEST_QUEUE, purge_queues
from tests.connections.hooks_helpers import receiver

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]
Status = HookDelivery.Status
EVENT = "connection.paused"
HOOK_TASKS = ["mpbraze.hook_deliveries_send", "mpbraze.hook_deliver"]
DEFAULT_TASKS = [
    "mpbraze.batches_map",
    "mpbraze.batch_map",
    "mpbraze.connectivity_check_run",
    "mpbraze.deliveries_sweep",
    "mpbraze.retention_prune",
]
ROUTES = """
import json
from mpbraze.celery import app
names = {names!r}
print(json.dumps({{
    "broker": app.conf.broker_url.split(":")[0],
    "queues": [queue.name for queue in app.conf.task_queues],
    "routes": {{name: app.amqp.router.route({{}}, name)["queue"].name for name in names}},
}}))
"""


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[int]]]:
    """Messages published, as (task name, delivery ids), instead of the broker."""
    sent: list[tuple[str, list[int]]] = []

    def publish(task_name: str, args: tuple[Any, ...], **options: Any) -> None:
        sent.append((task_name, list(args[0])))

    monkeypatch.setattr("connections.hooks.services.publish", publish)
    return sent


def deliveries(user: User, url: str, *, subscriptions: int = 1, events: int = 1) -> list[int]:
    """``events`` events for ``subscriptions`` subscriptions: one delivery each, all due."""
    for _ in range(subscriptions):
        hook_subscription_create(user=user, target_url=url, events=[EVENT])
    for n in range(events):
        hook_event_emit(event=EVENT, data={"n": n})
    return list(HookDelivery.objects.order_by("pk").values_list("pk", flat=True))


def statuses(ids: list[int]) -> list[str]:
    rows = HookDelivery.objects.filter(pk__in=ids).order_by("pk")
    return list(rows.values_list("status", flat=True))


# --- routing ------------------------------------------------------------------------------


def test_hook_tasks_go_to_the_hooks_queue_and_mapping_and_checks_to_the_default_one() -> None:
    routes = {name: app.amqp.router.route({}, name)["queue"].name for name in HOOK_TASKS}
    assert routes == dict.fromkeys(HOOK_TASKS, hooks_queue(TEST_QUEUE))
    for name in DEFAULT_TASKS:
        assert app.amqp.router.route({}, name)["queue"].name == TEST_QUEUE, name


@pytest.mark.parametrize(
    ("broker", "env"),
    [("filesystem", {}), ("redis", {"REDIS_URL": "redis://127.0.0.1:6379/0"})],
)
def test_every_worker_consumes_the_hooks_queue_and_only_hook_tasks_go_there(
    broker: str, env: dict[str, str], tmp_path: Path
) -> None:
    """A fresh process with the embedded default's settings, and with Redis's (read only:
    nothing connects), the way ``make run``, the compose stack and CI start a worker."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "CELERY_BROKER_URL", "MPBRAZE_CELERY_QUEUE")
    }
    clean |= {"MPBRAZE_LOCAL_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "mpbraze.settings"}
    code = ROUTES.format(names=HOOK_TASKS + DEFAULT_TASKS)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout)
    assert found["broker"] == broker
    assert found["queues"] == ["mpbraze", "mpbraze.forward", "mpbraze.hooks"]
    assert found["routes"] == dict.fromkeys(HOOK_TASKS, "mpbraze.hooks") | dict.fromkeys(
        DEFAULT_TASKS, "mpbraze"
    )


def test_no_worker_command_line_narrows_the_queues_it_consumes() -> None:
    """Workers consume every queue of ``CELERY_TASK_QUEUES``; a ``-Q`` anywhere would leave
    the hooks (or forwarding) queue without a consumer."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    worker = compose["services"]["worker"]["command"]
    lines = [worker if isinstance(worker, str) else " ".join(worker)]
    lines += [" ".join(argv) for argv in devstack.commands("8000")]
    assert sum(" worker " in line for line in lines) == 2
    for line in lines:
        assert " -Q" not in line, line
        assert "--queues" not in line, line


def test_a_hook_message_waits_on_its_own_queue_on_the_broker_in_force() -> None:
    """The filesystem broker on the embedded default, Redis or RabbitMQ when configured."""
    names = (TEST_QUEUE, hooks_queue(TEST_QUEUE))
    purge_queues(*names)
    try:
        publish("mpbraze.hook_deliveries_send", ([1, 2, 3],))
        publish("mpbraze.connectivity_check_run", (4,))
        publish("mpbraze.batches_map", ([5],))
        with app.connection_for_write() as connection:
            depths = [_queue_depth(connection, name) for name in names]
        assert depths == [2, 1]
    finally:
        purge_queues(*names)


# --- publishing and sending in batches ------------------------------------------------------


def test_an_event_for_30_subscriptions_is_two_messages_not_30(
    ops: User,
    messages: list[tuple[str, list[int]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ids = deliveries(ops, "https://hooks.example.com/in", subscriptions=30)
    assert len(ids) == 30
    assert [(name, len(batch)) for name, batch in messages] == [
        ("mpbraze.hook_deliveries_send", 25),
        ("mpbraze.hook_deliveries_send", 5),
    ]
    assert sorted(pk for _, batch in messages for pk in batch) == ids
    assert HookDelivery.objects.filter(enqueued_at__isnull=False).count() == 30


def test_one_task_sends_a_batch_of_deliveries_a_few_at_once(ops: User) -> None:
    with receiver(200, delay=0.3) as hook:
        ids = deliveries(ops, hook.url(), subscriptions=12)
        tasks.hook_deliveries_send(ids)
    assert statuses(ids) == [Status.SUCCEEDED] * 12
    assert len(hook.requests) == 12
    assert 1 < hook.most_at_once <= batch.SEND_CONCURRENCY
    assert HookDelivery.objects.filter(pk__in=ids, attempt_records__status_code=200).count() == 12


def test_a_batch_sends_only_what_is_due_and_not_taken_by_another_worker(ops: User) -> None:
    with receiver(200) as hook:
        taken, done, later, due = deliveries(ops, hook.url(), subscriptions=4)
        now = timezone.now()
        HookDelivery.objects.filter(pk=taken).update(
            status=Status.SENDING, lease_until=now + timedelta(minutes=5)
        )
        HookDelivery.objects.filter(pk=done).update(status=Status.SUCCEEDED)
        HookDelivery.objects.filter(pk=later).update(next_attempt_at=now + timedelta(minutes=5))
        report = batch.hook_deliveries_send(delivery_ids=[taken, done, later, due, 10**9])
    assert (report.sent, report.skipped, report.left) == (1, 4, ())
    assert len(hook.requests) == 1
    assert statuses([taken, done, later, due]) == [
        Status.SENDING,
        Status.SUCCEEDED,
        Status.PENDING,
        Status.SUCCEEDED,
    ]


def test_a_batch_past_its_budget_publishes_what_it_did_not_start_again(
    ops: User, messages: list[tuple[str, list[int]]]
) -> None:
    with receiver(200) as hook:
        ids = deliveries(ops, hook.url(), subscriptions=3)
        report = batch.hook_deliveries_send(delivery_ids=ids, budget_seconds=0)
    assert (report.sent, report.skipped, report.left) == (0, 0, tuple(ids))
    assert hook.requests == []
    assert messages == [("mpbraze.hook_deliveries_send", ids)]
    assert statuses(ids) == [Status.PENDING] * 3
    assert HookDelivery.objects.filter(enqueued_at__isnull=False).count() == 3


def test_a_failing_send_is_recorded_on_its_attempt_and_the_others_are_sent(
    ops: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_post = sending.hook_delivery_post
    with receiver(200) as hook:
        broken, *fine = deliveries(ops, hook.url(), subscriptions=3)

        def post(delivery: HookDelivery, config: Any) -> Any:
            if delivery.pk == broken:
                raise RuntimeError("a bug")
            return real_post(delivery, config)

        monkeypatch.setattr(batch, "hook_delivery_post", post)
        report = batch.hook_deliveries_send(delivery_ids=[broken, *fine])
    assert report.sent == 3
    assert statuses(fine) == [Status.SUCCEEDED] * 2
    failed = HookDelivery.objects.get(pk=broken)
    assert (failed.status, failed.attempts) == (Status.PENDING, 1)
    assert failed.attempt_records.get().error == "mpbraze could not send it (RuntimeError)"


def test_a_single_delivery_message_of_an_earlier_version_is_still_sent(ops: User) -> None:
    with receiver(200) as hook:
        (delivery,) = deliveries(ops, hook.url())
        tasks.hook_deliver(delivery)
    assert statuses([delivery]) == [Status.SUCCEEDED]
    assert len(hook.requests) == 1
