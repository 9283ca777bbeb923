"""Replays racing the forwarder and each other, on real parts: a Celery worker process
forwarding to a fake Braze, PostgreSQL and Redis, and replays fired at once from threads.

Every object carries a marker (``properties.n`` for a failed row, ``properties.m`` for a
fresh one), so Braze's record says how many times each row arrived.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
from django.db import connection as db
from django.utils import timezone

from connections import services as connection_services
from connections.audit import services
from connections.audit.models import ReplayRun
from connections.delivery import schedule
from connections.models import BrazeOutput, Delivery
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY, braze_connection, event, queue_rows
from tests.reliability.conftest import WorkerProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Start = Callable[..., WorkerProcess]
USERS = 50
FAILED_ROWS = 300  # six per user
FRESH_BATCHES, FRESH_PER_BATCH = 10, 30
RACERS = 3  # replays asked for at once, each also executed by a thread beside the worker


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


@pytest.fixture
def output(braze: FakeBraze) -> BrazeOutput:
    connection, _secret = connection_services.connection_create(name="Replayed")
    return braze_connection(connection, braze.url)


def failed_rows(output: BrazeOutput) -> list[int]:
    """Dead rows, as retries exhausted would leave them (how they died is not under test)."""
    rows = queue_rows(
        output,
        [event(f"user-{n % USERS}", name="Failed", n=n) for n in range(FAILED_ROWS)],
    )
    ids = [row.pk for row in rows]
    Delivery.objects.filter(pk__in=ids).update(status="dead", failed_at=timezone.now())
    return ids


def in_own_connection(work: Callable[[], Any]) -> Callable[[], Any]:
    """A thread's Django connection is its own: closed when the thread's work ends."""

    def run() -> Any:
        try:
            return work()
        finally:
            db.close()

    return run


def fresh_stream(output: BrazeOutput) -> Callable[[], None]:
    """New rows for the same users, queued and scheduled as the mapping does, while the
    replays run."""

    def stream() -> None:
        for batch in range(FRESH_BATCHES):
            first = batch * FRESH_PER_BATCH
            markers = range(first, first + FRESH_PER_BATCH)
            queue_rows(output, [event(f"user-{m % USERS}", name="Fresh", m=m) for m in markers])
            schedule.forward_schedule(output_id=output.pk)
            time.sleep(0.15)

    return stream


def copies(braze: FakeBraze, name: str, marker: str) -> Counter[int]:
    bodies = [o["body"] for o in braze.accepted_objects() if o["body"]["name"] == name]
    return Counter(body["properties"][marker] for body in bodies)


def settled(braze: FakeBraze, objects: int) -> Callable[[], bool]:
    """Braze has every expected object and the worker has written every answer back."""
    waiting = Delivery.objects.filter(status__in=("queued", "sending"))
    return lambda: len(braze.accepted_objects()) >= objects and not waiting.exists()


def test_replays_racing_each_other_and_the_forwarder_send_each_failed_row_once(
    start_worker: Start, output: BrazeOutput, braze: FakeBraze
) -> None:
    ids = failed_rows(output)
    braze.set_faults(latency_ms=200)  # requests in flight while the replays take their rows
    worker = start_worker()
    selection = {"filter": {"connection": str(output.connection_id)}}
    gate = threading.Barrier(2 * RACERS, timeout=20)
    asked: list[ReplayRun] = []

    def ask() -> None:
        gate.wait()
        asked.extend(services.replay_runs_create(selection=selection, via="test"))

    def execute_beside_the_worker(number: int) -> None:
        gate.wait()
        wait_until(lambda: len(asked) > number, timeout=10, what="the run to execute")
        services.replay_run_execute(run_id=asked[number].pk)

    with ThreadPoolExecutor(2 * RACERS + 1) as pool:
        stream = pool.submit(in_own_connection(fresh_stream(output)))
        racers = [pool.submit(in_own_connection(ask)) for _ in range(RACERS)]
        racers += [
            pool.submit(in_own_connection(partial(execute_beside_the_worker, n)))
            for n in range(RACERS)
        ]
        for future in racers:
            future.result(timeout=30)
        done = ReplayRun.objects.filter(pk__in=[run.pk for run in asked], status="done")
        wait_until(lambda: done.count() == RACERS, timeout=20, what="the replays to finish")
        stream.result(timeout=30)

    fresh = FRESH_BATCHES * FRESH_PER_BATCH
    wait_until(settled(braze, FAILED_ROWS + fresh), timeout=30, what="every row to be sent")
    assert copies(braze, "Failed", "n") == Counter(range(FAILED_ROWS))  # each exactly once
    assert copies(braze, "Fresh", "m") == Counter(range(fresh))
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", "replay_count")) == {
        ("sent", 1)
    }
    runs = ReplayRun.objects.filter(pk__in=[run.pk for run in asked])
    assert [run.status for run in runs] == ["done"] * RACERS
    assert sum(run.acted for run in runs) == FAILED_ROWS  # the record agrees with Braze
    assert not [line for line in worker.log if "raised unexpected" in line]


def test_a_forced_replay_during_sending_adds_one_copy_of_each_row_braze_had_accepted(
    start_worker: Start, output: BrazeOutput, braze: FakeBraze, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = failed_rows(output)
    # Four requests of 75, one at a time, take 8 s or more: the forced replay, queued after
    # the first is marked sent, finds the rest on their way even on a slow, busy machine (at
    # 1 s a request, a busy CI machine on SQLite once ran the replay after the last one).
    braze.set_faults(latency_ms=2000)
    monkeypatch.setenv("MPBRAZE_FORWARD_CONCURRENCY", "1")  # the worker's requests one by one
    worker = start_worker()
    selection = {"filter": {"connection": str(output.connection_id), "state": "all"}}
    (first,) = services.replay_runs_create(selection=selection, via="test")
    sent = Delivery.objects.filter(pk__in=ids, status="sent")
    wait_until(sent.exists, timeout=20, what="a first request's rows marked sent")
    assert sent.count() < FAILED_ROWS  # the rest are queued or in flight
    (forced,) = services.replay_runs_create(selection=selection, via="test", force=True)
    (again,) = services.replay_runs_create(selection=selection, via="test")
    runs = ReplayRun.objects.filter(pk__in=[first.pk, forced.pk, again.pk], status="done")
    wait_until(lambda: runs.count() == 3, timeout=20, what="the three replays to finish")
    forced.refresh_from_db()
    wait_until(settled(braze, FAILED_ROWS + forced.acted), timeout=30, what="every copy sent")

    queued_times = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "replay_count"))
    replays = Counter({n: queued_times[pk] for n, pk in enumerate(ids)})
    assert copies(braze, "Failed", "n") == replays  # one copy each time it was queued
    assert 0 < forced.acted < FAILED_ROWS  # it took the sent rows, not those on their way
    assert Counter(replays.values()) == {2: forced.acted, 1: FAILED_ROWS - forced.acted}
    assert (forced.acted + forced.skipped_pending, forced.skipped_accepted) == (FAILED_ROWS, 0)
    assert ReplayRun.objects.get(pk=again.pk).acted == 0
    print(f"\nthe forced replay took {forced.acted} sent rows and skipped {forced.skipped_pending}")
    assert not [line for line in worker.log if "raised unexpected" in line]
