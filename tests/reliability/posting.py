"""Posting mParticle batches through the real inbound API over HTTP, timing every answer.

For fault tests: post before, during and after a fault (``with poster.running():``), then
``assert_all_answered(poster.posts, status=202, within=2)``; ``poster.accepted`` is the set
of event names the API acknowledged, the ledger's expected ids.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

Batch = dict[str, Any]


@dataclass(frozen=True)
class Post:
    """One inbound request: ``status`` 0 means no answer (refused, reset or timed out)."""

    status: int
    seconds: float
    names: tuple[str, ...]
    retry_after: str | None = None
    error: str = ""


def event_batch(customer_id: str, names: Sequence[str], start_ms: int = 1_764_300_000_000) -> Batch:
    """One mParticle batch of custom events named ``names``, as the SDKs send it."""
    events = [
        {
            "event_type": "custom_event",
            "data": {
                "event_name": name,
                "custom_event_type": "other",
                "timestamp_unixtime_ms": start_ms + n,
            },
        }
        for n, name in enumerate(names)
    ]
    return {
        "environment": "production",
        "user_identities": {"customerid": customer_id},
        "events": events,
    }


def basic_auth(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def post_bulk(
    url: str,
    key: str,
    secret: str,
    batches: list[Batch],
    *,
    timeout: float = 10,
    client: httpx.Client | None = None,
) -> Post:
    """``POST {url}/v2/bulkevents``; never raises for a transport failure."""
    names = tuple(e["data"]["event_name"] for b in batches for e in b["events"])
    headers = {"Authorization": basic_auth(key, secret)}
    own = client is None
    http = client or httpx.Client(timeout=timeout, trust_env=False)
    start = time.monotonic()
    try:
        answer = http.post(f"{url}/v2/bulkevents", json=batches, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        return Post(0, time.monotonic() - start, names, error=f"{type(error).__name__}: {error}")
    finally:
        if own:
            http.close()
    seconds = time.monotonic() - start
    return Post(answer.status_code, seconds, names, answer.headers.get("Retry-After"))


@dataclass
class Poster:
    """Posts events named ``E0``, ``E1``, … (one user per batch), recording every answer.

    ``accepted`` holds the names of every request answered 202: the ledger's expected set;
    ``unanswered`` those of requests without any answer, which may or may not be stored.
    ``with poster.running():`` keeps posting from a thread until the block ends.
    """

    url: str
    key: str
    secret: str
    batches_per_request: int = 5
    events_per_batch: int = 4
    timeout: float = 10
    posts: list[Post] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    unanswered: set[str] = field(default_factory=set)
    _counter: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_batches(self) -> list[Batch]:
        with self._lock:
            numbers = [
                next(self._counter) for _ in range(self.batches_per_request * self.events_per_batch)
            ]
        per = self.events_per_batch
        chunks = [numbers[i : i + per] for i in range(0, len(numbers), per)]
        return [event_batch(f"user-{c[0] // per}", [f"E{n}" for n in c]) for c in chunks]

    def post(self, client: httpx.Client | None = None) -> Post:
        result = post_bulk(
            self.url,
            self.key,
            self.secret,
            self.next_batches(),
            timeout=self.timeout,
            client=client,
        )
        with self._lock:
            self.posts.append(result)
            if result.status == 202:
                self.accepted.update(result.names)
            elif result.status == 0:
                self.unanswered.update(result.names)
        return result

    def post_many(self, requests: int) -> list[Post]:
        with httpx.Client(timeout=self.timeout, trust_env=False) as client:
            return [self.post(client) for _ in range(requests)]

    @contextmanager
    def running(self, interval: float = 0.05) -> Iterator[Poster]:
        stop = threading.Event()

        def loop() -> None:
            with httpx.Client(timeout=self.timeout, trust_env=False) as client:
                while not stop.is_set():
                    self.post(client)
                    stop.wait(interval)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=self.timeout + 5)


def assert_all_answered(posts: Sequence[Post], *, status: int = 202, within: float = 2.0) -> None:
    """Every request was answered ``status`` in at most ``within`` seconds."""
    assert posts, "no request was posted"
    wrong = [p for p in posts if p.status != status or p.seconds > within]
    summary = Counter(p.status for p in posts)
    slowest = max(p.seconds for p in posts)
    assert not wrong, (
        f"{len(wrong)} of {len(posts)} requests not answered {status} within {within} s "
        f"(statuses {dict(summary)}, slowest {slowest:.2f} s); first: {wrong[0]}"
    )
