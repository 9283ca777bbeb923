"""Throttles for failed authentications: sign-ins, the inbound API's HTTP Basic credentials and
the REST API's bearer tokens.

Failures are counted per subject (a username at an address, an address, an inbound key at an
address, …) in a sliding window: each window is counted in ``SLOTS`` slots, and a check adds up
the current slot and the ``SLOTS`` before it. Every failure of the last ``window`` seconds is
therefore counted, so no span of ``window`` seconds ever holds more failures than the limit (a
fixed window let twice the limit through across its boundary); the price is that a failure is
forgotten up to one slot late. Counters live in Redis when ``REDIS_URL`` is set (shared by every
process), in the local-memory cache otherwise. Checking reads every slot of every limit in one
round trip (MGET); a failure bumps the current slots in one more (a pipeline). Successes never
reset a counter: a right password from one address must not reopen another address's guessing.

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
from functools import cached_property
from typing import Protocol, TypeVar

import redis
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: The clock seam (seconds since the epoch): slots are numbered from it.
clock: Callable[[], float] = time.time

#: Slots per window: a failure is forgotten between ``window`` and ``window * 13 / 12`` s later.
SLOTS = 12


@dataclass(frozen=True)
class Limit:
    """At most ``failures`` failed attempts of one ``subject`` in any ``window`` seconds.

    ``waivable`` limits do not apply to a client that signed in as the subject's user before
    (``Throttle.trust``): they stop guessing spread over many addresses without locking the
    user out of the addresses they use. ``after_check`` limits apply only once the credential
    was checked and found wrong (``Throttle.retry_after(checked=True)``): they never refuse a
    right one.
    """

    scope: str
    subject: str
    failures: int
    window: int
    waivable: bool = False
    after_check: bool = False

    @property
    def slot_seconds(self) -> float:
        return self.window / SLOTS

    def slot(self, now: float) -> int:
        return int(now // self.slot_seconds)

    def counters(self, now: float) -> list[str]:
        """The slots that may hold failures of the last window, oldest first."""
        current = self.slot(now)
        return [self.counter(index) for index in range(current - SLOTS, current + 1)]

    def counter(self, slot: int) -> str:
        return f"{self.name}:{slot}"

    @cached_property
    def name(self) -> str:
        return f"throttle:{self.scope}:{_digest(self.subject)}"

    def seconds_left(self, now: float, counts: list[int]) -> int:
        """Seconds until the slots still counted hold fewer failures than the limit (0: now)."""
        remaining, dropped = sum(counts), 0
        while remaining >= self.failures:  # forget the oldest slot, then the next, …
            remaining -= counts[dropped]
            dropped += 1
        if not dropped:
            return 0
        # The last slot dropped is forgotten once the current slot is SLOTS + 1 past it.
        return max(1, math.ceil((self.slot(now) + dropped) * self.slot_seconds - now))


class Throttle:
    """The limits one request's failures count under; ``trusted`` names a marker of trust.

    The counters are read once, by the first ``retry_after``; later calls reuse them."""

    def __init__(self, limits: Sequence[Limit], *, trusted: str = "") -> None:
        self.limits = [limit for limit in limits if limit.failures > 0]  # 0 turns a limit off
        self.now = clock()
        self.marker = f"throttle:trusted:{_digest(trusted)}" if trusted else ""
        self.counts: list[list[int]] | None = None
        self.trusted = False

    def retry_after(self, *, checked: bool = False) -> int:
        """Seconds until the request may be tried again; 0 when no limit is reached.

        ``checked``: the credential was checked and is wrong, so ``after_check`` limits apply.
        """
        counts = self._read()
        waits = [
            limit.seconds_left(self.now, slots)
            for limit, slots in zip(self.limits, counts, strict=True)
            if (checked or not limit.after_check) and not (limit.waivable and self.trusted)
        ]
        return max(waits, default=0)

    def record_failure(self) -> None:
        names = [limit.counter(limit.slot(self.now)) for limit in self.limits]
        lifetimes = [math.ceil(limit.window + limit.slot_seconds) for limit in self.limits]
        _safely(lambda: _store().bump(names, lifetimes))

    def trust(self, *, seconds: int) -> None:
        """Remember a success, so that waivable limits spare this client from now on."""
        if self.marker:
            _safely(lambda: _store().mark(self.marker, seconds))

    def _read(self) -> list[list[int]]:
        if self.counts is None:
            names = [name for limit in self.limits for name in limit.counters(self.now)]
            names += [self.marker] if self.marker else []
            values = _safely(lambda: _store().read(names)) or [0] * len(names)
            self.trusted = bool(self.marker) and values[-1] > 0
            size = SLOTS + 1
            self.counts = [values[n * size : (n + 1) * size] for n in range(len(self.limits))]
        return self.counts


def client_address(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind ``MPBRAZE_TRUSTED_PROXY_HOPS`` proxies
    the address the outermost of them saw (the last hops of ``X-Forwarded-For`` are theirs;
    anything further left was written by the client and cannot be trusted)."""
    hops = settings.MPBRAZE_TRUSTED_PROXY_HOPS
    header: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [part.strip() for part in header.split(",")]
    if hops and len(forwarded) >= hops and forwarded[-hops]:
        return forwarded[-hops][:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def _digest(subject: str) -> str:
    # Usernames and keys never appear in Redis as typed (and a NUL or a space is harmless).
    return hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class _Counters(Protocol):
    def read(self, names: list[str]) -> list[int]: ...
    def bump(self, names: list[str], lifetimes: list[int]) -> None: ...
    def mark(self, name: str, seconds: int) -> None: ...


class _RedisCounters:
    """Counters shared by every process, with timeouts short enough not to hold a sign-in."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)

    def read(self, names: list[str]) -> list[int]:
        return [int(value or 0) for value in self.client.mget(_keys(names))]

    def bump(self, names: list[str], lifetimes: list[int]) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for key, lifetime in zip(_keys(names), lifetimes, strict=True):
                pipe.incr(key)
                pipe.expire(key, lifetime)
            pipe.execute()

    def mark(self, name: str, seconds: int) -> None:
        self.client.set(_keys([name])[0], 1, ex=seconds)


class _CacheCounters:
    """The local-memory cache: one process's counters (a developer's machine)."""

    def read(self, names: list[str]) -> list[int]:
        values = cache.get_many(names)
        return [int(values.get(name, 0)) for name in names]

    def bump(self, names: list[str], lifetimes: list[int]) -> None:
        for name, lifetime in zip(names, lifetimes, strict=True):
            cache.add(name, 0, timeout=lifetime)
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
