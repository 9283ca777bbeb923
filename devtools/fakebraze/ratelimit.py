"""Per-key token buckets and the ``x-ratelimit-*`` headers Braze sends (reference §2).

Braze limits per workspace; the fake treats every API key as its own workspace.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from devtools.fakebraze.config import RateLimit, RateLimitStyle

Clock = Callable[[], float]
RETRY_AFTER = "x-ratelimit-retry-after"


@dataclass
class RateDecision:
    """Whether a request may proceed, and the headers to put on its answer."""

    allowed: bool
    headers: dict[str, str]


class TokenBucket:
    """``limit`` tokens, refilled continuously at ``limit / window_seconds`` per second."""

    def __init__(self, rate: RateLimit, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate.limit)
        self.updated = now

    def refill(self, now: float) -> None:
        earned = (now - self.updated) * self.rate.limit / self.rate.window_seconds
        self.tokens = min(float(self.rate.limit), self.tokens + earned)
        self.updated = now

    def take(self, now: float) -> bool:
        self.refill(now)
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def seconds_until(self, tokens: float) -> float:
        return max(0.0, (tokens - self.tokens) * self.rate.window_seconds / self.rate.limit)


class RateLimiter:
    """Thread-safe token buckets keyed by API key."""

    def __init__(
        self, rate: RateLimit, clock: Clock = time.monotonic, wall: Clock = time.time
    ) -> None:
        self.rate = rate
        self._clock, self._wall = clock, wall
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> RateDecision:
        """Spend one token of ``key``; a refusal carries the 429 headers."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.setdefault(key, TokenBucket(self.rate, now))
            if bucket.take(now):
                return RateDecision(True, self._headers(bucket))
            return RateDecision(False, self._throttled(bucket))

    def peek(self, key: str | None) -> dict[str, str]:
        """Headers for an answer that spends no token (auth failures, injected faults)."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key or "") or TokenBucket(self.rate, now)
            bucket.refill(now)
            return self._headers(bucket)

    def forced_throttle(self, retry_after: int) -> dict[str, str]:
        """Headers for an injected 429 that tells the client to wait ``retry_after`` s."""
        if self.rate.style is RateLimitStyle.MAU:
            return {RETRY_AFTER: str(retry_after)}
        reset = math.ceil(self._wall() + retry_after)
        return {**self._limit_headers(0, str(reset)), RETRY_AFTER: str(retry_after)}

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def _throttled(self, bucket: TokenBucket) -> dict[str, str]:
        retry_after = str(max(1, math.ceil(bucket.seconds_until(1))))
        if self.rate.style is RateLimitStyle.MAU:
            # MAU contracts replace the three headers with retry-after on a 429.
            return {RETRY_AFTER: retry_after}
        return {**self._headers(bucket), RETRY_AFTER: retry_after}

    def _headers(self, bucket: TokenBucket) -> dict[str, str]:
        until_full = bucket.seconds_until(self.rate.limit)
        if self.rate.style is RateLimitStyle.MAU:
            reset = math.ceil(until_full)
        else:
            reset = math.ceil(self._wall() + until_full)
        return self._limit_headers(math.floor(bucket.tokens), str(reset))

    def _limit_headers(self, remaining: int, reset: str) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.rate.limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": reset,
        }
