"""The load every end-to-end phase posts: EVENTS events in batches of 10 events for one user
each, 10 batches a bulk request, posted through the inbound API by concurrent clients."""

from __future__ import annotations

import base64
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from tests.benchmarks.report import BenchmarkRow

EVENTS = int(os.environ.get("MPBRAZE_BENCH_EVENTS", "100000"))
EVENTS_PER_BATCH = 10
BATCHES_PER_REQUEST = 10
CLIENTS = 4


@dataclass
class Ingest:
    seconds: float
    requests: int
    events: int
    latencies: list[float]

    def row(self, case: str, note: str = "") -> list[BenchmarkRow]:
        p50, p99 = percentile(self.latencies, 50), percentile(self.latencies, 99)
        timing = f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms. {note}".strip()
        rows = [BenchmarkRow("ingest", case, self.requests / self.seconds, "requests/s", timing)]
        if self.events:
            rows.append(BenchmarkRow("ingest", case, self.events / self.seconds, "events/s", ""))
        return rows


def percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * percent // 100)]


def batch(user: str, first: int) -> dict[str, Any]:
    events = [
        {
            "event_type": "custom_event",
            "data": {
                "event_name": f"E{n}",
                "custom_event_type": "other",
                "timestamp_unixtime_ms": 1_764_300_000_000 + n,
                "custom_attributes": {"n": n, "plan": "pro", "ok": True},
            },
        }
        for n in range(first, first + EVENTS_PER_BATCH)
    ]
    return {
        "environment": "production",
        "user_identities": {"customerid": user},
        "user_attributes": {"plan": "pro", "$City": "Oslo"},
        "events": events,
    }


def bodies(prefix: str) -> list[list[dict[str, Any]]]:
    """EVENTS events: batches of 10 events for one user each, 10 batches a request."""
    batches = [batch(f"{prefix}-{n}", n * EVENTS_PER_BATCH) for n in range(EVENTS // 10)]
    return [batches[i : i + BATCHES_PER_REQUEST] for i in range(0, len(batches), 10)]


def hot_bodies(prefix: str, users: int) -> list[list[dict[str, Any]]]:
    """EVENTS events from few users, each active in batch after batch (an outage's backlog of
    active users): batch n is user n mod ``users``'s, so a user's batches follow each other
    ``users`` batches apart, their events numbered in the order posted."""
    batches = [batch(f"{prefix}-{n % users}", n * EVENTS_PER_BATCH) for n in range(EVENTS // 10)]
    return [batches[i : i + BATCHES_PER_REQUEST] for i in range(0, len(batches), 10)]


HEADERS = {
    "Content-Type": "application/json",
    # As behind the TLS-terminating proxy of a production install (DEBUG=0 redirects HTTP).
    "X-Forwarded-Proto": "https",
}


def post_all(
    url: str, auth: str, requests: list[Any], *, expect: int = 202, clients: int = CLIENTS
) -> Ingest:
    headers = {"Authorization": auth, **HEADERS}
    latencies: list[float] = []
    local = threading.local()

    def post(body: Any) -> None:
        client = getattr(local, "client", None) or httpx.Client(trust_env=False, timeout=60)
        local.client = client
        started = time.perf_counter()
        response = client.post(url, json=body, headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code != expect:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, requests))
    seconds = time.perf_counter() - started
    events = sum(len(b["events"]) for body in requests if isinstance(body, list) for b in body)
    return Ingest(seconds, len(requests), events, latencies)


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
