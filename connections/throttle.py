"""Throttles for failed authentications: sign-ins and the inbound API's HTTP Basic credentials.

Failures are counted in fixed windows per subject (a username at an address, an address, an
inbound key at an address, …) in Redis when ``REDIS_URL`` is set (shared by every process), in
the local-memory cache otherwise. Checking reads every counter in one round trip; a failure
bumps them in one more (a pipeline). Successes never reset a counter: a right password from
one address must not reopen another address's guessing.

If Redis is unreachable the throttle lets requests through (logged): a cache outage must not
lock everyone out of signing in or stop mParticle's traffic.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache as memoized
from typing import Protocol, TypeVar

import redis
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: The clock seam (seconds since the epoch): windows are numbered from it.
clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class Limit:
    """At most ``failures`` failed attempts of one ``subject`` per ``window`` seconds.

    ``waivable`` limits do not apply to a client that signed in as the subject's user before
    (``Throttle.trust``): they stop guessing spread over many addresses without locking the
    user out of the addresses they use.
    """

    scope: str
    subject: str
    failures: int
    window: int
    waivable: bool = False

    def counter(self, now: float) -> str:
        return f"throttle:{self.scope}:{_digest(self.subject)}:{int(now // self.window)}"

    def seconds_left(self, now: float) -> int:
        return max(1, math.ceil(self.window - now % self.window))


class Throttle:
    """The limits one request's failures count under; ``trusted`` names a marker of trust."""

    def __init__(self, limits: Sequence[Limit], *, trusted: str = "") -> None:
        self.limits = [limit for limit in limits if limit.failures > 0]  # 0 turns a limit off
        self.now = clock()
        self.counters = [limit.counter(self.now) for limit in self.limits]
        self.marker = f"throttle:trusted:{_digest(trusted)}" if trusted else ""

    def retry_after(self) -> int:
        """Seconds until the request may be tried again; 0 when no limit is reached."""
        names = [*self.counters, *([self.marker] if self.marker else [])]
        counts = _safely(lambda: _store().read(names)) or [0] * len(names)
        trusted = bool(self.marker) and counts[-1] > 0
        waits = [
            limit.seconds_left(self.now)
            for limit, count in zip(self.limits, counts, strict=False)
            if count >= limit.failures and not (limit.waivable and trusted)
        ]
        return max(waits, default=0)

    def record_failure(self) -> None:
        windows = [limit.window for limit in self.limits]
        _safely(lambda: _store().bump(self.counters, windows))

    def trust(self, *, seconds: int) -> None:
        """Remember a success, so that waivable limits spare this client from now on."""
        if self.marker:
            _safely(lambda: _store().mark(self.marker, seconds))


def client_address(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind ``MPBRAZE_TRUSTED_PROXY_HOPS`` proxies
    the address the outermost of them saw (the last hops of ``X-Forwarded-For`` are theirs;
    anything further left was written by the client and cannot be trusted)."""
    hops = settings.MPBRAZE_TRUSTED_PROXY_HOPS
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if hops and len(forwarded) >= hops and forwarded[-hops]:
        return forwarded[-hops][:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def _digest(subject: str) -> str:
    # Usernames and keys never appear in Redis as typed (and a NUL or a space is harmless).
    return hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class _Counters(Protocol):
    def read(self, names: list[str]) -> list[int]: ...
    def bump(self, names: list[str], windows: list[int]) -> None: ...
    def mark(self, name: str, seconds: int) -> None: ...


class _RedisCounters:
    """Counters shared by every process, with timeouts short enough not to hold a sign-in."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)

    def read(self, names: list[str]) -> list[int]:
        return [int(value or 0) for value in self.client.mget(_keys(names))]

    def bump(self, names: list[str], windows: list[int]) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for key, window in zip(_keys(names), windows, strict=True):
                pipe.incr(key)
                pipe.expire(key, window)
            pipe.execute()

    def mark(self, name: str, seconds: int) -> None:
        self.client.set(_keys([name])[0], 1, ex=seconds)


class _CacheCounters:
    """The local-memory cache: one process's counters (a developer's machine)."""

    def read(self, names: list[str]) -> list[int]:
        values = cache.get_many(names)
        return [int(values.get(name, 0)) for name in names]

    def bump(self, names: list[str], windows: list[int]) -> None:
        for name, window in zip(names, windows, strict=True):
            cache.add(name, 0, timeout=window)
            cache.incr(name)

    def mark(self, name: str, seconds: int) -> None:
        cache.set(name, 1, timeout=seconds)


def _keys(names: list[str]) -> list[str]:
    # The cache's KEY_PREFIX and version apply, as to any other cache entry.
    return [cache.make_key(name) for name in names]


def _store() -> _Counters:
    return _redis_counters(settings.REDIS_URL) if settings.REDIS_URL else _CacheCounters()


@memoized
def _redis_counters(url: str) -> _RedisCounters:
    return _RedisCounters(url)


def _safely(action: Callable[[], T]) -> T | None:
    try:
        return action()
    except (redis.RedisError, ValueError):
        logger.warning("Throttle counters unavailable: failed attempts are not limited now")
        return None
