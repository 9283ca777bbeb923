"""Fault-injection harness: fixtures for killable processes, an inbound poster, a ledger.

A test imports the fixtures it uses (``from tests.reliability.harness import own_redis``)
or lists this module in ``pytest_plugins``. The processes live in ``processes.py``.

The ledger follows Hookdeck Outpost's load harness: every event gets a unique name, the fake
Braze records what it accepted, and after the drain ``accepted == delivered + dead`` with
nothing missing; duplicates are counted apart (``reliability_security.md`` §3.1 and §5).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection as db_connection

from devtools.fakebraze import FakeBraze
from tests.conftest import TEST_QUEUE
from tests.reliability.posting import Post, Poster, assert_all_answered, event_batch, post_bulk
from tests.reliability.processes import (
    LOOPBACK,
    FaultWorker,
    RedisServer,
    WebServer,
    fault_environment,
    free_port,
)
from tests.services import require_postgresql

__all__ = [
    "FaultWorker",
    "Ledger",
    "Post",
    "Poster",
    "RedisServer",
    "StartWeb",
    "StartWorker",
    "WebServer",
    "assert_all_answered",
    "assert_balanced",
    "dead_event_names",
    "delivered_event_names",
    "enqueue",
    "event_batch",
    "own_redis",
    "post_bulk",
    "reconcile",
    "start_fault_worker",
    "start_web_server",
    "unknown_outcome_sends",
    "unreachable_database_url",
]

StartWorker = Callable[..., FaultWorker]
StartWeb = Callable[..., WebServer]

# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis for this test; the machine's shared Redis is never touched."""
    server = RedisServer(tmp_path / "own-redis")
    yield server
    server.stop()


@pytest.fixture
def start_fault_worker(transactional_db: None, own_redis: RedisServer) -> Iterator[StartWorker]:
    """``start(name, *, redis_url=own_redis.url, concurrency=2, beat=False, env=None)``:
    a ready worker on the test database; every one is stopped at teardown, killed or not."""
    require_postgresql()
    started: list[FaultWorker] = []

    def start(
        name: str = "w1",
        *,
        redis_url: str | None = None,
        concurrency: int = 2,
        beat: bool = False,
        env: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> FaultWorker:
        url = redis_url or own_redis.url
        worker = FaultWorker(name, url, concurrency=concurrency, beat=beat, env=env)
        started.append(worker)
        return worker.wait_ready(timeout)

    yield start
    for worker in started:
        worker.stop()
        if os.environ.get("MPBRAZE_SHOW_WORKER_LOG"):
            print(f"--- worker {worker.name} log ---\n{worker.log_text()}")


@pytest.fixture
def start_web_server(transactional_db: None, own_redis: RedisServer) -> Iterator[StartWeb]:
    """``start(*, redis_url=own_redis.url, env=None)``: gunicorn serving the product on the
    test database (``env`` overrides, e.g. ``DATABASE_URL=unreachable_database_url()``)."""
    require_postgresql()
    servers: list[WebServer] = []

    def start(*, redis_url: str | None = None, env: Mapping[str, str] | None = None) -> WebServer:
        environment = fault_environment("web", redis_url or own_redis.url, env)
        servers.append(WebServer(environment))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def unreachable_database_url() -> str:
    """The test database's URL with a closed loopback port: every connect is refused."""
    db = db_connection.settings_dict
    return f"postgres://{db['USER']}@{LOOPBACK}:{free_port()}/{db['NAME']}"


def enqueue(broker_url: str, task: str, *args: Any) -> None:
    """Publish a task to the test queue on a chosen broker (the test process's own app
    publishes to ``REDIS_URL``); fails at once when the broker is down."""
    from mpbraze.celery import app

    with app.connection_for_write(broker_url) as broker:
        app.send_task(task, args=args, connection=broker, queue=TEST_QUEUE, retry=False)


# --- The ledger ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    """The reconciliation of one run, over unique event ids (names).

    ``accepted``: ids the inbound API answered 202 for. ``delivered``: of those, ids the fake
    Braze accepted at least once. ``dead``: of those, ids dead-lettered. ``duplicates``: extra
    copies Braze accepted. ``overlap``: ids both delivered and dead (the books disagree).
    ``unexpected``: ids delivered or dead that were never accepted (``maybe_ids``, those of
    requests that got no answer at all, may be either way and are not counted).
    """

    accepted: int
    delivered: int
    dead: int
    missing: int
    duplicates: int
    overlap: int = 0
    unexpected: int = 0
    unknown_outcome: int = 0
    missing_sample: tuple[str, ...] = ()

    @classmethod
    def compute(
        cls,
        expected_ids: set[str],
        delivered_ids: Iterable[str],
        dead_ids: set[str],
        *,
        unknown_outcome: int = 0,
        maybe_ids: Iterable[str] = (),
    ) -> Ledger:
        copies = Counter(delivered_ids)
        delivered = set(copies)
        missing = expected_ids - delivered - dead_ids
        return cls(
            accepted=len(expected_ids),
            delivered=len(delivered & expected_ids),
            dead=len(dead_ids & expected_ids),
            missing=len(missing),
            duplicates=sum(copies.values()) - len(copies),
            overlap=len(delivered & dead_ids & expected_ids),
            unexpected=len((delivered | dead_ids) - expected_ids - set(maybe_ids)),
            unknown_outcome=unknown_outcome,
            missing_sample=tuple(sorted(missing)[:10]),
        )

    @property
    def balanced(self) -> bool:
        return (
            self.missing == 0
            and self.unexpected == 0
            and self.accepted == self.delivered + self.dead
        )

    def line(self) -> str:
        text = (
            f"ledger: accepted={self.accepted} delivered={self.delivered} dead={self.dead} "
            f"missing={self.missing} duplicates={self.duplicates}"
        )
        if self.overlap or self.unexpected:
            text += f" overlap={self.overlap} unexpected={self.unexpected}"
        return f"{text} (unknown-outcome sends: {self.unknown_outcome})"


def assert_balanced(ledger: Ledger, *, max_duplicates: int = 0) -> None:
    print(f"\n{ledger.line()}")
    report_ledger(ledger.line())
    assert ledger.missing == 0, f"{ledger.line()}; missing e.g. {list(ledger.missing_sample)}"
    assert ledger.unexpected == 0, f"{ledger.line()}; ids delivered that were never accepted"
    assert ledger.accepted == ledger.delivered + ledger.dead, f"{ledger.line()}; overlap"
    assert ledger.duplicates <= max_duplicates, f"{ledger.line()}; over {max_duplicates}"


def report_ledger(line: str) -> None:
    """Keep the line for the run's summary (``pytest_terminal_summary`` in tests/conftest.py),
    so CI's output shows every fault test's ledger, passed or failed."""
    path = os.environ.get("MPBRAZE_LEDGER_FILE")
    if path and "test_faults" in os.environ.get("PYTEST_CURRENT_TEST", ""):
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0].rsplit("::", 1)[-1]
        with open(path, "a") as ledgers:
            ledgers.write(f"{test}: {line}\n")


def delivered_event_names(braze: FakeBraze) -> list[str]:
    """Every event name the fake Braze accepted, one entry per copy."""
    return [o["body"]["name"] for o in braze.accepted_objects("events")]


def dead_event_names(statuses: Iterable[str] = ("dead", "rejected")) -> set[str]:
    """Names of event rows that ended failed: dead-lettered or rejected by Braze."""
    from connections.models import Delivery

    dead = Delivery.objects.filter(status__in=list(statuses), kind="events")
    return set(dead.values_list("event_name", flat=True))


def unknown_outcome_sends() -> int:
    from connections.models import DeliveryAttempt

    return DeliveryAttempt.objects.filter(outcome="unknown").count()


def reconcile(expected_ids: set[str], braze: FakeBraze, maybe_ids: Iterable[str] = ()) -> Ledger:
    """The ledger from the fake Braze's record and the outbox's dead letters."""
    return Ledger.compute(
        expected_ids,
        delivered_event_names(braze),
        dead_event_names(),
        unknown_outcome=unknown_outcome_sends(),
        maybe_ids=maybe_ids,
    )
