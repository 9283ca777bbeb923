"""Typed settings of the fake Braze server: keys, batch size mode, rate limit and faults.

Every writer (CLI flags, the ``/_fake/`` control endpoints, the in-process API) goes through
the parsers here, so a bad value is rejected the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

TRACK_PERMISSION = "users.track"
MAX_BODY_BYTES = 4 * 1024 * 1024
DROP_ACTIONS = ("reset", "timeout")

KeySpec = Mapping[str, Iterable[str]] | Iterable[str]


class BatchMode(StrEnum):
    """How many objects one ``/users/track`` request may carry (reference §1.6)."""

    COMBINED = "combined"  # 75 across attributes + events + purchases (current default)
    LEGACY = "legacy"  # 75 per array
    MAU = "mau"  # 50 combined (2024-25 MAU contract text)


class RateLimitStyle(StrEnum):
    """Which rate-limit headers Braze sends (reference §2)."""

    STANDARD = "standard"  # x-ratelimit-reset is epoch seconds
    MAU = "mau"  # reset is seconds remaining; a 429 carries only retry-after


@dataclass(frozen=True)
class RateLimit:
    """A token bucket of ``limit`` requests refilled evenly over ``window_seconds``."""

    limit: int = 3000
    window_seconds: float = 3.0
    style: RateLimitStyle = RateLimitStyle.STANDARD

    @classmethod
    def parse(cls, text: str, style: str = RateLimitStyle.STANDARD) -> RateLimit:
        """Read ``"3000/3"`` (requests per seconds)."""
        limit, _, window = text.partition("/")
        try:
            parsed = cls(int(limit), float(window or "1"), RateLimitStyle(style))
        except ValueError as exc:
            raise ValueError(f"rate limit must look like 3000/3, got {text!r}") from exc
        if parsed.limit < 1 or parsed.window_seconds <= 0:
            raise ValueError(f"rate limit must be positive, got {text!r}")
        return parsed

    def describe(self) -> str:
        return f"{self.limit}/{self.window_seconds:g}"


@dataclass(frozen=True)
class Faults:
    """Failures to inject into ``/users/track`` answers; the defaults inject nothing.

    ``next_statuses`` is a queue consumed one entry per request, before any other rule:
    an error status is answered as is, ``"reset"`` drops the connection, ``"timeout"``
    processes the request then hangs up, and a 2xx lets the request through untouched.
    """

    error_rate: float = 0.0
    error_status: int = 500
    latency_ms: int = 0
    reset_rate: float = 0.0
    processed_but_timeout_rate: float = 0.0
    next_statuses: tuple[int | str, ...] = ()
    retry_after_seconds: int = 1
    hang_seconds: float = 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Faults:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        faults = cls(**{**data, "next_statuses": tuple(data.get("next_statuses", ()))})
        try:
            faults.check()
        except TypeError as exc:
            raise ValueError(f"fault values have the wrong type: {exc}") from exc
        return faults

    def check(self) -> None:
        for name in ("error_rate", "reset_rate", "processed_but_timeout_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        for status in (self.error_status, *self.next_statuses):
            if status not in DROP_ACTIONS and not _is_status(status):
                raise ValueError(f"not an HTTP status or one of {DROP_ACTIONS}: {status!r}")
        if self.latency_ms < 0 or self.retry_after_seconds < 0 or self.hang_seconds < 0:
            raise ValueError("latency_ms, retry_after_seconds and hang_seconds must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "next_statuses": list(self.next_statuses)}


def _is_status(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


@dataclass
class FakeBrazeConfig:
    """Everything a fake Braze server starts with; all of it can change at run time."""

    keys: dict[str, frozenset[str]] = field(default_factory=dict)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    batch_mode: BatchMode = BatchMode.COMBINED
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None
    max_body_bytes: int = MAX_BODY_BYTES


def normalise_keys(keys: KeySpec) -> dict[str, frozenset[str]]:
    """Accept ``{"key": {"users.track"}}`` or a plain list of keys (``users.track`` each)."""
    if isinstance(keys, Mapping):
        return {key: frozenset(perms) for key, perms in keys.items()}
    return {key: frozenset({TRACK_PERMISSION}) for key in keys}


def parse_key_spec(spec: str) -> tuple[str, frozenset[str]]:
    """Read a ``--key`` value: ``KEY`` or ``KEY:perm1,perm2`` (``KEY:`` means no permission)."""
    key, colon, perms = spec.partition(":")
    if not key:
        raise ValueError(f"empty API key in {spec!r}")
    if not colon:
        return key, frozenset({TRACK_PERMISSION})
    return key, frozenset(p.strip() for p in perms.split(",") if p.strip())


def parse_statuses(text: str) -> tuple[int | str, ...]:
    """Read ``"503,503,429,reset"`` into a fault queue."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    bad = [item for item in items if item not in DROP_ACTIONS and not item.isdigit()]
    if bad:
        raise ValueError(f"next statuses must be HTTP statuses, 'reset' or 'timeout': {bad[0]!r}")
    return tuple(item if item in DROP_ACTIONS else int(item) for item in items)
