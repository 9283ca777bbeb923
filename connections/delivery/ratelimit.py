"""A client-side rate limiter per Braze workspace, shared by every worker process
(docs/architecture.md "Delivery rules").

A sliding log: at most ``limit`` requests start in any ``window`` seconds, whatever way Braze
counts its own window (fixed or rolling), so a well-behaved forwarder never earns a 429.
Braze's ``X-RateLimit-Remaining: 0`` and 429 answers add a pause that every worker honours.

State lives in Redis when ``REDIS_URL`` is set (one atomic Lua script, Redis's clock), else in
small files under ``LOCAL_DIR/ratelimit`` guarded by ``flock`` (the embedded default, one host).
Workspaces are named by ``workspace_key`` (REST host + key fingerprint), never by the key.
Braze limits ``/users/track`` and its user-data endpoints (``/users/identify``, alias, delete,
merge) apart, so each workspace has two buckets (``Bucket``), each with its own rate and keys.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import redis
from django.conf import settings

from connections.crypto.encryption import fingerprint
from connections.delivery.tuning import delivery_config
from connections.metrics.definitions import record_rate_limit_wait

MAX_PAUSE_SECONDS = 3600.0  # hourly limits reset on the hour; a wilder header is not trusted
JITTER_SECONDS = 0.005  # spreads workers that would all wake at the same instant


@dataclass(frozen=True)
class Rate:
    """``limit`` requests per ``window`` seconds."""

    limit: int
    window: float

    @classmethod
    def parse(cls, text: str, setting: str = "MPBRAZE_BRAZE_RATE_LIMIT") -> Rate:
        """Read ``"3000/3"``; a bad value names ``setting``."""
        limit, _, window = text.partition("/")
        try:
            rate = cls(int(limit), float(window or "1"))
        except ValueError:
            rate = cls(0, 0)
        if rate.limit < 1 or rate.window <= 0:
            raise ValueError(f"{setting} must look like 3000/3, got {text!r}")
        return rate


def workspace_key(rest_host: str, api_key: str) -> str:
    """Names a Braze workspace: its REST host and a fingerprint of the key."""
    return f"{rest_host.lower()}/{fingerprint(api_key)[:16]}"


class Backend(Protocol):
    def try_acquire(self, workspace: str, rate: Rate, count: int = 1) -> tuple[int, float]:
        """Take up to ``count`` slots, as many as are free; return how many were taken and,
        when fewer than ``count``, the seconds until one more may be free (else 0)."""
        ...

    def pause_until(self, workspace: str, until: float) -> None:
        """Refuse slots until the epoch time ``until`` (never shortens a longer pause)."""
        ...


class RateLimiter:
    """Blocking acquire plus the pauses Braze's answers ask for."""

    def __init__(
        self, backend: Backend, rate: Rate, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.backend = backend
        self.rate = rate
        self._sleep = sleep

    def acquire(self, workspace: str, *, timeout: float) -> float | None:
        """Wait for a slot and return the seconds waited.

        Returns ``None`` at once, without sleeping, when the next slot is further away than
        what is left of ``timeout``: the caller reschedules instead of holding a worker.
        """
        return self.acquire_noting_waits(workspace, timeout=timeout)[0]

    def acquire_noting_waits(self, workspace: str, *, timeout: float) -> tuple[float | None, bool]:
        """``acquire``, and whether it had to sleep for the slot."""
        taken, waited, slept = self.acquire_many(workspace, 1, timeout=timeout)
        return (waited if taken else None), slept

    def acquire_many(
        self, workspace: str, count: int, *, timeout: float
    ) -> tuple[int, float, bool]:
        """Wait for ``count`` slots, taking each as it frees (one round trip for those free
        at once): returns how many were taken (fewer when the next one is further away than
        what is left of ``timeout``), the seconds waited and whether it slept."""
        started = time.monotonic()
        taken, slept = 0, False
        while True:
            granted, wait = self.backend.try_acquire(workspace, self.rate, count - taken)
            taken += granted
            waited = time.monotonic() - started
            if taken >= count or waited + wait > timeout:
                return taken, waited, slept
            self._sleep(wait + random.uniform(0, JITTER_SECONDS))
            slept = True

    def observe(self, workspace: str, remaining: int | None, reset_at: datetime | None) -> None:
        """Follow Braze's ``X-RateLimit-Remaining``: at 0, pause everyone until the reset."""
        if remaining is None or remaining > 0:
            return
        until = reset_at.timestamp() if reset_at else time.time() + self.rate.window
        self._pause(workspace, until)

    def block_until(self, workspace: str, until: datetime) -> None:
        """After a 429: no worker starts a request to this workspace before ``until``."""
        self._pause(workspace, until.timestamp())

    def _pause(self, workspace: str, until: float) -> None:
        now = time.time()
        if until > now:
            self.backend.pause_until(workspace, min(until, now + MAX_PAUSE_SECONDS))


# KEYS: the log (sorted set of start times) and the pause; ARGV: limit, window ms, then one
# member per slot wanted. Times come from Redis so workers on hosts with skewed clocks still
# agree. Returns {slots taken, ms until one more may be free (0 when all were taken)}.
ACQUIRE_SCRIPT = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local limit, window, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), #ARGV - 2
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {0, paused - now} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local granted = math.max(0, math.min(wanted, limit - redis.call('ZCARD', KEYS[1])))
for i = 1, granted do redis.call('ZADD', KEYS[1], now, ARGV[2 + i]) end
if granted > 0 then redis.call('PEXPIRE', KEYS[1], window) end
if granted == wanted then return {granted, 0} end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {granted, math.max(1, tonumber(oldest[2]) + window - now)}
"""

PAUSE_SCRIPT = """
local deadline = tonumber(ARGV[1])
if deadline > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], deadline, 'PXAT', deadline)
end
"""


class RedisBackend:
    """Shared by every worker that uses the same Redis."""

    def __init__(self, url: str, prefix: str = "mpbraze:ratelimit") -> None:
        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self._acquire = self.client.register_script(ACQUIRE_SCRIPT)
        self._pause = self.client.register_script(PAUSE_SCRIPT)

    def try_acquire(self, workspace: str, rate: Rate, count: int = 1) -> tuple[int, float]:
        log, pause = self._keys(workspace)
        call = uuid.uuid4().hex
        members = [f"{call}-{n}" for n in range(count)]
        args: list[int | str] = [rate.limit, round(rate.window * 1000), *members]
        granted, wait_ms = self._acquire(keys=[log, pause], args=args)
        return int(granted), int(wait_ms) / 1000

    def pause_until(self, workspace: str, until: float) -> None:
        self._pause(keys=[self._keys(workspace)[1]], args=[round(until * 1000)])

    def _keys(self, workspace: str) -> tuple[str, str]:
        # The hash tag keeps both keys in one slot, as a script needs on Redis Cluster.
        return f"{self.prefix}:{{{workspace}}}:log", f"{self.prefix}:{{{workspace}}}:pause"


class FileBackend:
    """One JSON file per workspace, read and rewritten under an exclusive ``flock``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def try_acquire(self, workspace: str, rate: Rate, count: int = 1) -> tuple[int, float]:
        with _LockedState(self._path(workspace)) as state:
            now = time.time()
            if state.get("paused_until", 0) > now:
                return 0, float(state["paused_until"] - now)
            # Starts "in the future" can only come from a clock stepped back: drop them too.
            log: list[float] = [t for t in state.get("log", []) if now - rate.window < t <= now]
            granted = max(0, min(count, rate.limit - len(log)))
            log += [now] * granted
            state["log"] = log
            if granted == count:
                return granted, 0.0
            return granted, max(0.001, log[0] + rate.window - now)

    def pause_until(self, workspace: str, until: float) -> None:
        with _LockedState(self._path(workspace)) as state:
            state["paused_until"] = max(until, state.get("paused_until", 0))

    def _path(self, workspace: str) -> Path:
        return self.directory / f"{hashlib.sha256(workspace.encode()).hexdigest()[:32]}.json"


class _LockedState:
    """The state file's JSON as a dict, locked for the block and written back on exit."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> dict[str, Any]:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        raw = os.read(self.fd, os.fstat(self.fd).st_size or 1)
        try:
            self.state: dict[str, Any] = json.loads(raw) if raw else {}
        except ValueError:  # a torn write from a killed process: start afresh
            self.state = {}
        return self.state

    def __exit__(self, *exc_info: object) -> None:
        try:
            data = json.dumps(self.state).encode()
            os.lseek(self.fd, 0, os.SEEK_SET)
            os.ftruncate(self.fd, 0)
            os.write(self.fd, data)
        finally:
            os.close(self.fd)  # closing releases the lock


class Bucket(StrEnum):
    """Which of Braze's limits a request counts against."""

    TRACK = "track"  # /users/track: MPBRAZE_BRAZE_RATE_LIMIT
    USER_DATA = "user-data"  # /users/identify, alias, delete, merge: MPBRAZE_BRAZE_USER_DATA_...


def bucket_workspace(workspace: str, bucket: Bucket) -> str:
    """The name of a workspace's bucket (``/users/track``'s keeps the workspace's own name;
    ``…#user-data`` is also what the erasures' ``/users/delete`` takes its tokens under)."""
    return workspace if bucket is Bucket.TRACK else f"{workspace}#{bucket.value}"


def limiter(bucket: Bucket = Bucket.TRACK) -> RateLimiter:
    """The process-wide limiter of ``bucket`` configured by settings (rebuilt when they change)."""
    config = delivery_config()
    if bucket is Bucket.USER_DATA:
        rate, setting = config.user_data_rate_limit, "MPBRAZE_BRAZE_USER_DATA_RATE_LIMIT"
    else:
        rate, setting = config.rate_limit, "MPBRAZE_BRAZE_RATE_LIMIT"
    return _limiter(settings.REDIS_URL or "", str(settings.LOCAL_DIR), rate, setting)


@cache
def _limiter(redis_url: str, local_dir: str, rate: str, setting: str) -> RateLimiter:
    backend: Backend = (
        RedisBackend(redis_url) if redis_url else FileBackend(Path(local_dir) / "ratelimit")
    )
    return RateLimiter(backend, Rate.parse(rate, setting))


def acquire(workspace: str, *, timeout: float, bucket: Bucket = Bucket.TRACK) -> float | None:
    """``RateLimiter.acquire`` on the configured limiter: seconds waited, ``None`` on timeout.

    Waits and deferrals are counted here, after the slot is taken, not inside the limiter."""
    taken = acquire_many(workspace, 1, timeout=timeout, bucket=bucket)
    return taken[1] if taken[0] else None


def acquire_many(
    workspace: str, count: int, *, timeout: float, bucket: Bucket = Bucket.TRACK
) -> tuple[int, float]:
    """``RateLimiter.acquire_many`` on the configured limiter: the slots taken (fewer than
    ``count`` on timeout) and the seconds waited; waits and deferrals counted as ``acquire``."""
    named = bucket_workspace(workspace, bucket)
    taken, waited, slept = limiter(bucket).acquire_many(named, count, timeout=timeout)
    if taken < count or slept:
        record_rate_limit_wait(seconds=None if taken < count else waited)
    return taken, waited


def observe(
    workspace: str,
    remaining: int | None,
    reset_at: datetime | None,
    *,
    bucket: Bucket = Bucket.TRACK,
) -> None:
    """``RateLimiter.observe`` on the configured limiter."""
    limiter(bucket).observe(bucket_workspace(workspace, bucket), remaining, reset_at)


def block_until(workspace: str, until: datetime, *, bucket: Bucket = Bucket.TRACK) -> None:
    """``RateLimiter.block_until`` on the configured limiter."""
    limiter(bucket).block_until(bucket_workspace(workspace, bucket), until)
