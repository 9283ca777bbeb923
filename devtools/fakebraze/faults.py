"""Decides, per ``/users/track`` request, which injected failure (if any) it meets."""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, replace
from enum import StrEnum

from devtools.fakebraze.config import Faults


class FaultAction(StrEnum):
    NONE = "none"
    STATUS = "status"  # answer with a fixed status, whatever the request holds
    RESET = "reset"  # close the socket without an answer, nothing processed
    TIMEOUT = "timeout"  # process and record the objects, then hang up without an answer


@dataclass(frozen=True)
class FaultDraw:
    """The fault one request meets and which setting caused it (for the request log)."""

    action: FaultAction = FaultAction.NONE
    status: int = 0
    source: str | None = None


NO_FAULT = FaultDraw()


class FaultInjector:
    """Thread-safe holder of the current ``Faults`` and their seeded random source."""

    def __init__(self, faults: Faults, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.set(faults)

    def set(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._queue: deque[int | str] = deque(faults.next_statuses)

    def current(self) -> Faults:
        """The settings in force; ``next_statuses`` holds only what is still queued."""
        with self._lock:
            return replace(self._faults, next_statuses=tuple(self._queue))

    def draw(self) -> FaultDraw:
        with self._lock:
            # Always roll three times so a seed replays the same sequence whatever the rates.
            rolls = [self._rng.random() for _ in range(3)]
            if self._queue:
                return _queued(self._queue.popleft())
            return self._random(rolls)

    def _random(self, rolls: list[float]) -> FaultDraw:
        faults = self._faults
        if rolls[0] < faults.reset_rate:
            return FaultDraw(FaultAction.RESET, source="reset_rate")
        if rolls[1] < faults.error_rate:
            return FaultDraw(FaultAction.STATUS, faults.error_status, "error_rate")
        if rolls[2] < faults.processed_but_timeout_rate:
            return FaultDraw(FaultAction.TIMEOUT, source="processed_but_timeout_rate")
        return NO_FAULT

    @property
    def latency_seconds(self) -> float:
        return self._faults.latency_ms / 1000

    @property
    def hang_seconds(self) -> float:
        return self._faults.hang_seconds

    @property
    def retry_after_seconds(self) -> int:
        return self._faults.retry_after_seconds


def _queued(entry: int | str) -> FaultDraw:
    if entry in ("reset", "timeout"):
        return FaultDraw(FaultAction(entry), source="next_statuses")
    assert isinstance(entry, int)
    if 200 <= entry < 300:
        # A queued success lets the request through: a fabricated 201 would record nothing.
        return NO_FAULT
    return FaultDraw(FaultAction.STATUS, entry, "next_statuses")
