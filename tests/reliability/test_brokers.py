"""The task broker in force (Redis in ``make test``, RabbitMQ in ``make test-rabbitmq``): the
publish helper, the sweeper's queue depth and the readiness check work on either, and fail
fast, naming the broker, when it cannot be reached."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from connections.delivery.sweeper import broker_queue_depth
from connections.probes.readiness import readiness_checks
from mpbraze.celery import app, forward_queue, hooks_queue
from mpbraze.publish import publish
from tests.conftest import TEST_QUEUE, purge_queues
from tests.reliability.processes import free_port
from tests.services import require_broker

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _purge() -> None:
    purge_queues(TEST_QUEUE, forward_queue(TEST_QUEUE), hooks_queue(TEST_QUEUE))


@pytest.fixture
def broker() -> Iterator[str]:
    url = require_broker()
    _purge()
    yield url
    _purge()


@pytest.fixture
def unreachable_broker(broker: str) -> Iterator[str]:
    """The same kind of broker on a loopback port nobody listens on. Celery reads
    ``CELERY_BROKER_URL`` from the environment before its own configuration."""
    scheme = broker.split("://", 1)[0]
    path = "//" if scheme.startswith("amqp") else "/0"
    url = f"{scheme}://guest:guest@127.0.0.1:{free_port()}{path}"
    with pytest.MonkeyPatch.context() as patch:  # undone before ``broker`` purges
        patch.setattr(app.conf, "broker_url", url)  # first: it reads the environment
        patch.setenv("CELERY_BROKER_URL", url)
        assert app.conf.broker_url == url
        yield url


def in_a_new_thread(work: Any) -> BaseException | None:
    """Run a publish on a thread of its own (the helper keeps one connection per thread)."""
    outcome: list[BaseException | None] = [None]

    def run() -> None:
        try:
            work()
        except BaseException as error:  # handed to the test
            outcome[0] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return outcome[0]


def test_the_queue_depth_counts_the_messages_published_to_every_task_queue(broker: str) -> None:
    assert broker_queue_depth() == 0
    assert in_a_new_thread(lambda: publish("mpbraze.batches_map", ([101],))) is None
    assert in_a_new_thread(lambda: publish("mpbraze.batches_map", ([102],))) is None
    assert in_a_new_thread(lambda: publish("mpbraze.output_forward", (7,))) is None
    assert in_a_new_thread(lambda: publish("mpbraze.hook_deliveries_send", ([8, 9],))) is None

    assert broker_queue_depth() == 4
    assert broker_queue_depth(with_hooks=False) == 3  # what the outbox sweeper asks


def test_readiness_reports_the_messages_waiting_on_the_broker(broker: str) -> None:
    assert in_a_new_thread(lambda: publish("mpbraze.batches_map", ([101],))) is None

    check = next(check for check in readiness_checks() if check.name == "broker")

    assert (check.ok, check.detail) == (True, "1 messages waiting")


def test_the_queue_depth_is_unknown_when_the_broker_cannot_be_reached(
    unreachable_broker: str,
) -> None:
    started = time.monotonic()

    assert broker_queue_depth() is None
    check = next(check for check in readiness_checks() if check.name == "broker")
    assert (check.ok, check.detail) == (False, "the task broker cannot be reached")
    assert time.monotonic() - started < 15


def test_a_publish_to_an_unreachable_broker_fails_within_seconds(
    unreachable_broker: str,
) -> None:
    started = time.monotonic()

    error = in_a_new_thread(lambda: publish("mpbraze.batches_map", ([101],)))

    assert error is not None
    assert "127.0.0.1" in str(error) or "refused" in str(error).lower(), repr(error)
    assert time.monotonic() - started < 5
