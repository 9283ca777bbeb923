"""One run of the real stack for the end-to-end phases: gunicorn, Celery workers and a fake
Braze answering in 50 ms, on a database and queues of the benchmark's own (``stack.py``).

Every figure is checked before it is printed: each event reached the fake Braze exactly once.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.benchmarks import row_versions, stack
from tests.benchmarks.counting_worker import read_counts
from tests.benchmarks.load import EVENTS, EVENTS_PER_BATCH, Ingest, basic, bodies, post_all

LATENCY_MS = 50
DRAIN_TIMEOUT = 240.0
EXPECTED = EVENTS + EVENTS // EVENTS_PER_BATCH  # events + one attributes object a batch


class Bench:
    """One run of the whole stack; each phase ingests on a queue of its own, named for this
    run (a stopped phase leaves no-op messages behind: no later run may consume them)."""

    def __init__(self, folder: Path) -> None:
        from connections import services
        from devtools.fakebraze import FakeBraze, Faults
        from tests.connections.delivery_helpers import REST_KEY, braze_connection

        self.folder = folder
        self.braze = FakeBraze(keys={REST_KEY: {"users.track"}}).start()
        self.braze.set_faults(Faults(latency_ms=LATENCY_MS))
        self.connection, secret = services.connection_create(name="Benchmark")
        self.output = braze_connection(self.connection, self.braze.url)
        self.auth = basic(self.connection.inbound_key, secret)
        self.processes: list[stack.Process] = []
        self.run = uuid.uuid4().hex[:8]
        self.queues: set[str] = set()
        self.web_rss = 0.0
        # Per phase: row versions before and after (None on SQLite).
        self.writes: dict[
            str, tuple[row_versions.Snapshot | None, row_versions.Snapshot | None]
        ] = {}

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        self.braze.stop()
        _purge_queues(self.queues)

    def queue(self, prefix: str) -> str:
        self.queues.add(f"bench-{self.run}-{prefix}")
        return f"bench-{self.run}-{prefix}"

    def start(self, process: stack.Process) -> stack.Process:
        self.processes.append(process)
        return process

    def ingest(self, prefix: str, load: list[list[dict[str, Any]]] | None = None) -> Ingest:
        """Post EVENTS events (``load``, or ``bodies``) through the inbound API under
        gunicorn, on queue ``prefix``."""
        web, url = self.web(prefix)
        result = post_all(url, self.auth, load or bodies(prefix))
        self.web_rss = max(self.web_rss, web.peak_rss_mb())
        web.stop()
        return result

    def web(self, prefix: str) -> tuple[stack.Process, str]:
        """The product under gunicorn, enqueueing on the phase's queue; and its bulk URL."""
        port = _free_port()
        log = self.folder / f"web-{prefix}.log"
        queue = self.queue(prefix)
        web = self.start(stack.gunicorn("mpbraze.wsgi:application", port, log, queue=queue))
        return web, f"http://127.0.0.1:{port}/v2/bulkevents"

    def bare(self, requests: list[Any]) -> Ingest:
        port = _free_port()
        wsgi = "tests.benchmarks.bare_wsgi:application"
        web = self.start(
            stack.gunicorn(wsgi, port, self.folder / "bare.log", queue=self.queue("bare"))
        )
        result = post_all(f"http://127.0.0.1:{port}/bench/bare/", self.auth, requests)
        web.stop()
        return result

    def workers(self, count: int, prefix: str, *, mapping_only: bool = False) -> list[Any]:
        counts = self.folder / f"counts-{prefix}"
        counts.mkdir()
        return [
            self.start(
                stack.celery_worker(
                    f"{prefix}{n}",
                    self.folder / f"worker-{prefix}{n}.log",
                    queue=self.queue(prefix),
                    counts=counts,
                    beat=n == 0 and not mapping_only,
                    mapping_only=mapping_only,
                )
            )
            for n in range(count)
        ]

    def map_only(self, prefix: str) -> dict[str, float]:
        """One worker process on the mapping queue alone, mapping the stored backlog."""
        from connections.models import InboundBatch

        started = time.monotonic()
        procs = self.workers(1, prefix, mapping_only=True)
        seconds = wait(lambda: not InboundBatch.objects.filter(status="received").exists(), started)
        for process in procs:
            process.stop()
        queries = read_counts(self.folder / f"counts-{prefix}")["mpbraze.batches_map"]
        figures = {
            "seconds": seconds,
            "batches_per_second": _mapping_rate(),
            "queries_per_batch": queries / (EVENTS / EVENTS_PER_BATCH),
        }
        forget_everything()
        return figures

    def drain(self, workers: int, prefix: str, *, check: Check | None = None) -> dict[str, float]:
        """Start ``workers`` worker processes on the stored backlog; time until the fake Braze
        accepted every object (whatever the outbox's rows look like), checked by ``check``
        (by default, each object exactly once)."""
        from connections.models import InboundBatch

        self.braze.reset()
        commits = _commits()
        before = row_versions.snapshot()
        started = time.monotonic()
        started_at = datetime.now().astimezone()
        procs = self.workers(workers, prefix)
        mapped_after = wait(
            lambda: not InboundBatch.objects.filter(status="received").exists(), started
        )
        wait(self.accepted_all, started)
        rss = max(process.peak_rss_mb() for process in procs)
        for process in procs:
            process.stop()  # warm shutdown: a task in flight records its outcome first
        figures = (check or check_exactly_once)(self.braze, prefix, EXPECTED)
        first, last = accepted_span(self.braze)
        counts = read_counts(self.folder / f"counts-{prefix}")
        figures.update(
            seconds=(last - started_at).total_seconds(),
            mapped_after=mapped_after,
            first_after=(first - started_at).total_seconds(),
            sustained=EVENTS / ((last - first).total_seconds() + LATENCY_MS / 1000),
            commits_per_request=(_commits() - commits) / figures["requests"],
            queries_per_request=counts["mpbraze.output_forward"] / figures["requests"],
            rss=rss,
        )
        self.writes[prefix] = (before, row_versions.snapshot())
        forget_everything()
        return figures

    def accepted_all(self) -> bool:
        """The fake Braze holds EXPECTED objects (more fails the exactly-once check)."""
        return len(self.braze.accepted_objects()) >= EXPECTED


def accepted_span(braze: Any) -> tuple[datetime, datetime]:
    """When the fake Braze received the first and the last request whose objects it accepted
    (it records them on arrival; its answer follows after its latency)."""
    seqs = {row["request"] for row in braze.accepted_objects()}
    times = sorted(datetime.fromisoformat(r["time"]) for r in braze.requests() if r["seq"] in seqs)
    return times[0], times[-1]


def _mapping_rate() -> float:
    """Batches per second between the first and the last group a task mapped (a group's
    batches share its ``mapped_at``): the task's own pace, without the worker's start."""
    from django.db.models import Count

    from connections.models import InboundBatch

    groups = list(
        InboundBatch.objects.values_list("mapped_at").annotate(n=Count("pk")).order_by("mapped_at")
    )
    span = (groups[-1][0] - groups[0][0]).total_seconds()
    return sum(n for _, n in groups[:-1]) / span if span else 0.0


def _purge_queues(names: set[str]) -> None:
    """Empty each queue of the run and its forwarding and hooks queues (RabbitMQ would refuse
    one never declared, hence suppressed: the figures are printed whatever happens here)."""
    from kombu import Queue

    from mpbraze.celery import app, forward_queue, hooks_queue

    with app.connection_for_write() as connection:
        for name in names:
            for queue in (name, forward_queue(name), hooks_queue(name)):
                with contextlib.suppress(Exception):
                    Queue(queue, channel=connection.default_channel).purge()


def forget_everything() -> None:
    """Delete the phase's batches and outbox, so the next phase starts on small tables; a
    model the outbox no longer has is skipped."""
    from django.apps import apps

    for name in ("DeliveryAttempt", "Delivery", "InboundBatch", "ForwardSchedule"):
        try:
            model = apps.get_model("connections", name)
        except LookupError:
            continue
        model.objects.all().delete()


def wait(done: Callable[[], bool], started: float) -> float:
    while not done():
        if time.monotonic() - started > DRAIN_TIMEOUT:
            raise RuntimeError(f"not drained within {DRAIN_TIMEOUT:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - started


def check_exactly_once(braze: Any, prefix: str, expected: int) -> dict[str, float]:
    objects = braze.accepted_objects()
    keys = [(o["body"].get("external_id"), o["body"].get("name", "attributes")) for o in objects]
    if len(keys) != expected or len(set(keys)) != expected:
        raise RuntimeError(f"{len(keys)} objects, {len(set(keys))} unique, {expected} expected")
    if not all(str(user).startswith(prefix) for user, _ in keys):
        raise RuntimeError("objects of another run arrived")
    sizes = [sum(r["counts"].values()) for r in braze.requests() if r["status"] == 201]
    return {"requests": len(sizes), "objects_per_request": expected / len(sizes)}


def check_in_order(braze: Any, prefix: str, expected: int) -> dict[str, float]:
    """A backlog of hot users (``load.hot_bodies``): every event exactly once, each user's
    events in the order posted, and an attributes object a batch."""
    objects = braze.accepted_objects()
    if len(objects) != expected:
        raise RuntimeError(f"{len(objects)} objects, {expected} expected")
    numbers: dict[str, list[int]] = {}
    for accepted in objects:
        user, name = str(accepted["body"].get("external_id")), accepted["body"].get("name")
        if not user.startswith(prefix):
            raise RuntimeError("objects of another run arrived")
        if name is not None:
            numbers.setdefault(user, []).append(int(name.removeprefix("E")))
    events = [number for each in numbers.values() for number in each]
    if len(events) != EVENTS or len(set(events)) != EVENTS:
        raise RuntimeError(f"{len(events)} events, {len(set(events))} unique, {EVENTS} expected")
    disordered = [user for user, each in numbers.items() if each != sorted(each)]
    if disordered:
        raise RuntimeError(f"the events of {len(disordered)} users arrived out of order")
    sizes = [sum(r["counts"].values()) for r in braze.requests() if r["status"] == 201]
    return {"requests": len(sizes), "objects_per_request": expected / len(sizes)}


Check = Callable[[Any, str, int], dict[str, float]]


def _commits() -> int:
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(cursor.fetchone()[0])


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def naive_forwarder(braze_url: str, events: int = 100) -> float:
    """One request per event, one after another: what a forwarder without batching does."""
    from tests.connections.delivery_helpers import REST_KEY

    started = time.perf_counter()
    with httpx.Client(trust_env=False, timeout=10) as client:
        for n in range(events):
            body = {"events": [{"external_id": f"naive-{n}", "name": "E", "time": "2026-01-01"}]}
            headers = {"Authorization": f"Bearer {REST_KEY}"}
            client.post(f"{braze_url}/users/track", json=body, headers=headers)
    return events / (time.perf_counter() - started)
