"""One run of the real stack for the end-to-end phases: gunicorn, Celery workers and a fake
Braze answering in 50 ms, on a database and queues of the benchmark's own (``stack.py``).

Every figure is checked before it is printed: each event reached the fake Braze exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.benchmarks import stack
from tests.benchmarks.counting_worker import read_counts
from tests.benchmarks.load import EVENTS, EVENTS_PER_BATCH, Ingest, basic, bodies, post_all

LATENCY_MS = 50
DRAIN_TIMEOUT = 240.0


class Bench:
    """One run of the whole stack; each phase ingests on a queue of its own."""

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
        self.web_rss = 0.0

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        self.braze.stop()

    def start(self, process: stack.Process) -> stack.Process:
        self.processes.append(process)
        return process

    def ingest(self, prefix: str) -> Ingest:
        """Post EVENTS events through the inbound API under gunicorn, on queue ``prefix``."""
        port = _free_port()
        web = self.start(
            stack.gunicorn("mpbraze.wsgi:application", port, self.folder / "web.log", queue=prefix)
        )
        result = post_all(f"http://127.0.0.1:{port}/v2/bulkevents", self.auth, bodies(prefix))
        self.web_rss = max(self.web_rss, web.peak_rss_mb())
        web.stop()
        return result

    def bare(self, requests: list[Any]) -> Ingest:
        port = _free_port()
        wsgi = "tests.benchmarks.bare_wsgi:application"
        web = self.start(stack.gunicorn(wsgi, port, self.folder / "bare.log", queue="bare"))
        result = post_all(f"http://127.0.0.1:{port}/bench/bare/", self.auth, requests)
        web.stop()
        return result

    def workers(self, count: int, queue: str, *, mapping_only: bool = False) -> list[Any]:
        counts = self.folder / f"counts-{queue}"
        counts.mkdir()
        return [
            self.start(
                stack.celery_worker(
                    f"{queue}{n}",
                    self.folder / f"worker-{queue}{n}.log",
                    queue=queue,
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
        seconds = _wait(
            lambda: not InboundBatch.objects.filter(status="received").exists(), started
        )
        for process in procs:
            process.stop()
        queries = read_counts(self.folder / f"counts-{prefix}")["mpbraze.batches_map"]
        figures = {
            "seconds": seconds,
            "batches_per_second": _mapping_rate(),
            "queries_per_batch": queries / (EVENTS / EVENTS_PER_BATCH),
        }
        _forget_everything()
        return figures

    def drain(self, workers: int, prefix: str) -> dict[str, float]:
        """Start ``workers`` worker processes on the stored backlog; time until all is sent."""
        from connections.models import Delivery, InboundBatch

        self.braze.reset()
        commits = _commits()
        started = time.monotonic()
        started_at = datetime.now().astimezone()
        procs = self.workers(workers, prefix)
        expected = EVENTS + EVENTS // EVENTS_PER_BATCH  # events + one attributes object a batch
        mapped_after = _wait(
            lambda: not InboundBatch.objects.filter(status="received").exists(), started
        )
        sent = Delivery.objects.filter(status="sent")
        drained_after = _wait(lambda: sent.count() >= expected, started)
        rss = max(process.peak_rss_mb() for process in procs)
        for process in procs:
            process.stop()
        figures = _check_exactly_once(self.braze, prefix, expected)
        times = sorted(datetime.fromisoformat(r["time"]) for r in self.braze.requests())
        counts = read_counts(self.folder / f"counts-{prefix}")
        figures.update(
            seconds=drained_after,
            mapped_after=mapped_after,
            first_after=(times[0] - started_at).total_seconds(),
            sustained=EVENTS / ((times[-1] - times[0]).total_seconds() + LATENCY_MS / 1000),
            commits_per_request=(_commits() - commits) / figures["requests"],
            queries_per_request=counts["mpbraze.output_forward"] / figures["requests"],
            rss=rss,
        )
        _forget_everything()
        return figures


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


def _forget_everything() -> None:
    from connections.models import Delivery, DeliveryAttempt, ForwardSchedule, InboundBatch

    DeliveryAttempt.objects.all().delete()
    Delivery.objects.all().delete()
    InboundBatch.objects.all().delete()
    ForwardSchedule.objects.all().delete()


def _wait(done: Callable[[], bool], started: float) -> float:
    while not done():
        if time.monotonic() - started > DRAIN_TIMEOUT:
            raise RuntimeError(f"not drained within {DRAIN_TIMEOUT:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - started


def _check_exactly_once(braze: Any, prefix: str, expected: int) -> dict[str, float]:
    objects = braze.accepted_objects()
    keys = [(o["body"].get("external_id"), o["body"].get("name", "attributes")) for o in objects]
    if len(keys) != expected or len(set(keys)) != expected:
        raise RuntimeError(f"{len(keys)} objects, {len(set(keys))} unique, {expected} expected")
    if not all(str(user).startswith(prefix) for user, _ in keys):
        raise RuntimeError("objects of another run arrived")
    sizes = [sum(r["counts"].values()) for r in braze.requests() if r["status"] == 201]
    return {"requests": len(sizes), "objects_per_request": expected / len(sizes)}


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
