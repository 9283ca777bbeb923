"""What the fake saw: one record per request and every object it accepted."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass
class RequestRecord:
    """One request to a Braze route; filled in as the request is handled."""

    seq: int
    time: str
    method: str
    path: str
    key_fingerprint: str | None = None
    status: int | None = None
    outcome: str = "answered"  # or "reset" / "timeout": the client got no answer
    fault: str | None = None  # the fault setting that shaped the answer, if any
    counts: dict[str, int] | None = None  # objects per array as sent


class Recorder:
    """Thread-safe log of requests and accepted objects, cleared by ``POST /_fake/reset``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._requests: list[RequestRecord] = []
        self._accepted: list[dict[str, Any]] = []
        self._in_flight = 0
        self._peak_in_flight = 0

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a Braze request from its arrival until its answer is written."""
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def peak_in_flight(self) -> int:
        """The most requests that were being answered at once since the last clear."""
        with self._lock:
            return self._peak_in_flight

    def start(self, method: str, path: str) -> RequestRecord:
        now = datetime.now(UTC).isoformat()
        with self._lock:
            return RequestRecord(next(self._seq), now, method, path)

    def finish(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)

    def accept(self, seq: int, objects: list[tuple[str, int, dict[str, Any]]]) -> None:
        rows = [{"request": seq, "kind": k, "index": i, "body": body} for k, i, body in objects]
        with self._lock:
            self._accepted.extend(rows)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(record) for record in self._requests]

    def accepted(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [row for row in self._accepted if kind in (None, row["kind"])]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._accepted.clear()
            self._peak_in_flight = self._in_flight
