"""The shared, thread-safe state of one fake Braze server."""

from __future__ import annotations

import threading
from typing import Any

from devtools.fakebraze.config import BatchMode, FakeBrazeConfig, RateLimit
from devtools.fakebraze.faults import FaultInjector
from devtools.fakebraze.keys import KeyRing
from devtools.fakebraze.ratelimit import RateLimiter
from devtools.fakebraze.recorder import Recorder
from devtools.fakebraze.users_delete import DeletionLog, user_data_limiter


class FakeBrazeState:
    """Keys, limits, faults and recordings; shared by every handler thread and control call."""

    def __init__(self, config: FakeBrazeConfig, *, verbose: bool = False) -> None:
        self.keys = KeyRing(config.keys)
        self.limiter = RateLimiter(config.rate_limit)
        self.faults = FaultInjector(config.faults, config.seed)
        self.recorder = Recorder()
        self.deletions = DeletionLog()
        # Braze's user-data endpoints (identify, alias, delete, merge) share a limit of their own.
        self.user_data_limiter = user_data_limiter(config.rate_limit.style)
        self.batch_mode = config.batch_mode
        self.max_body_bytes = config.max_body_bytes
        self.verbose = verbose
        # Set on shutdown so sleeping handlers (latency, hangs) wake up at once.
        self.stopping = threading.Event()

    def update_limits(
        self, rate_limit: str | None = None, style: str | None = None, batch_mode: str | None = None
    ) -> None:
        """Change the rate limit (fresh buckets) and/or the batch size mode."""
        if rate_limit is not None or style is not None:
            current = self.limiter.rate
            text = rate_limit or current.describe()
            self.limiter = RateLimiter(RateLimit.parse(text, style or current.style))
        if batch_mode is not None:
            self.batch_mode = BatchMode(batch_mode)

    def limits(self) -> dict[str, Any]:
        rate = self.limiter.rate
        return {
            "rate_limit": rate.describe(),
            "rate_limit_style": rate.style.value,
            "batch_mode": self.batch_mode.value,
        }

    def reset(self) -> None:
        """Forget recordings and refill every rate-limit bucket."""
        self.recorder.clear()
        self.limiter.reset()
        self.deletions.clear()
        self.user_data_limiter.reset()
