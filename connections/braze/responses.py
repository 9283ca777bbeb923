"""What one ``POST /users/track`` attempt came to (Braze reference §1.7, §1.8, §2).

Pure functions: a status, headers and the answer text in, a ``TrackResponse`` out.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from http import HTTPStatus
from typing import Any

import httpx

from mpbraze.http import describe_error

EXCERPT_CHARS = 2000
KINDS = ("attributes", "events", "purchases", "aliases")  # "<kind>_processed" in answers
# X-RateLimit-Reset is epoch seconds on most contracts and seconds remaining on MAU ones.
EPOCH_THRESHOLD = 1e9


class TrackOutcome(StrEnum):
    """What the forwarder does next with the objects of the request."""

    SUCCESS = "success"  # 2xx, no errors[]: every object accepted
    PARTIAL = "partial"  # 2xx with errors[]: the indexed objects rejected, the rest accepted
    RETRY = "retry"  # 5xx, 408, timeouts, connection failures: send again after a backoff
    RATE_LIMITED = "rate_limited"  # 429: wait until retry_after_at; not a failed attempt
    # 400/413 for the whole request: nothing accepted; bisect it, or reject the objects
    # that errors[] names (Braze's "Valid data must be provided ..." answer).
    SPLIT = "split"
    UNAUTHORIZED = "unauthorized"  # 401/403: pause the connection until its key is fixed
    REJECTED = "rejected"  # 3xx, other 4xx, a refused address: configuration, never retried


PERMANENT = frozenset({TrackOutcome.SPLIT, TrackOutcome.UNAUTHORIZED, TrackOutcome.REJECTED})


class TransportError(Exception):
    """A send that failed; ``permanent`` says whether sending the same request again can help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class TrackResponse:
    """One attempt: the answer (or its absence), classified. Never holds the API key."""

    outcome: TrackOutcome
    status_code: int | None = None  # None when no answer arrived
    error_class: str = ""  # "" for 2xx; http_5xx, http_429, http_4NN, http_3xx, timeout, ...
    message: str = ""  # Braze's "message" (or "error"), else a short description
    errors: list[dict[str, Any]] = field(default_factory=list)  # {type, input_array, index}
    processed: dict[str, int] = field(default_factory=dict)  # {"attributes": 2, ...}
    retry_after_at: datetime | None = None
    rate_remaining: int | None = None
    rate_reset_at: datetime | None = None
    duration_ms: int = 0
    excerpt: str = ""  # the first 2,000 characters of the answer
    note: str = ""  # what was odd about the answer (not JSON, cut off, too large)

    @property
    def accepted(self) -> bool:
        return self.outcome in (TrackOutcome.SUCCESS, TrackOutcome.PARTIAL)

    def raise_for_outcome(self) -> None:
        """Raise ``TransportError`` unless Braze accepted the request."""
        if not self.accepted:
            permanent = self.outcome in PERMANENT
            raise TransportError(self.message or self.error_class, permanent=permanent)


def from_error(exc: BaseException, *, duration_ms: int) -> TrackResponse:
    """An attempt that got no answer."""
    error_class, message = describe_error(exc)
    # A refused address or an unsendable header (a malformed key) is a configuration
    # problem: sending again cannot go any differently.
    permanent = error_class in ("refused_address", "bad_request")
    outcome = TrackOutcome.REJECTED if permanent else TrackOutcome.RETRY
    return TrackResponse(outcome, None, error_class, message, duration_ms=duration_ms)


def from_answer(
    status: int, headers: httpx.Headers, text: str, *, duration_ms: int, note: str = ""
) -> TrackResponse:
    """An attempt that got an answer; ``text`` is (at most the first MB of) its body."""
    payload = _json_object(text)
    outcome, error_class = classify(status, payload)
    now = datetime.now(UTC)
    reset_at = _reset_at(headers.get("x-ratelimit-reset"), now)
    retry_after_at = _retry_after_at(headers, now)
    if retry_after_at is None and status == 429:
        retry_after_at = reset_at
    return TrackResponse(
        outcome=outcome,
        status_code=status,
        error_class=error_class,
        message=_message(status, payload, headers),
        errors=_object_errors(payload),
        processed=_processed(payload),
        retry_after_at=retry_after_at,
        rate_remaining=_integer(headers.get("x-ratelimit-remaining")),
        rate_reset_at=reset_at,
        duration_ms=duration_ms,
        excerpt=text[:EXCERPT_CHARS],
        note=note or _note(status, payload),
    )


def classify(status: int, payload: dict[str, Any] | None) -> tuple[TrackOutcome, str]:
    """``(outcome, error class)`` for an HTTP status and the parsed body (if JSON)."""
    if 200 <= status < 300:
        return (TrackOutcome.PARTIAL if _object_errors(payload) else TrackOutcome.SUCCESS), ""
    if status == 429:
        return TrackOutcome.RATE_LIMITED, "http_429"
    if status >= 500:
        return TrackOutcome.RETRY, "http_5xx"
    if status in (400, 413):
        return TrackOutcome.SPLIT, f"http_{status}"
    if status in (401, 403):
        return TrackOutcome.UNAUTHORIZED, f"http_{status}"
    if status == 408:
        return TrackOutcome.RETRY, "http_408"
    if 300 <= status < 400:
        return TrackOutcome.REJECTED, "http_3xx"
    if 400 <= status < 500:
        return TrackOutcome.REJECTED, f"http_{status}"
    return TrackOutcome.RETRY, "bad_response"


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        payload = json.loads(text)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _message(status: int, payload: dict[str, Any] | None, headers: httpx.Headers) -> str:
    if 300 <= status < 400:
        location = headers.get("location", "another address")
        return f"redirected to {location}; redirects are not followed"
    for name in ("message", "error"):
        value = (payload or {}).get(name)
        if isinstance(value, str) and value:
            return value
    return f"HTTP {status} {_phrase(status)}".strip()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _object_errors(payload: dict[str, Any] | None) -> list[dict[str, Any]]:
    items = (payload or {}).get("errors")
    if not isinstance(items, list):
        return []
    return [
        {
            "type": item.get("type"),
            "input_array": item.get("input_array"),
            "index": item.get("index"),
        }
        for item in items
        if isinstance(item, dict)
    ]


def _processed(payload: dict[str, Any] | None) -> dict[str, int]:
    counts = {kind: (payload or {}).get(f"{kind}_processed") for kind in KINDS}
    return {kind: count for kind, count in counts.items() if isinstance(count, int)}


def _note(status: int, payload: dict[str, Any] | None) -> str:
    if payload is not None or not 200 <= status < 300:
        return ""
    return f"Braze accepted the request (HTTP {status}) but its answer was not a JSON object."


def _seconds(value: str | None) -> float | None:
    """A non-negative finite number of seconds, or ``None`` for anything else."""
    try:
        number = float(value or "")
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _integer(value: str | None) -> int | None:
    number = _seconds(value)
    return int(number) if number is not None else None


def _reset_at(value: str | None, now: datetime) -> datetime | None:
    seconds = _seconds(value)
    if seconds is None:
        return None
    if seconds >= EPOCH_THRESHOLD:
        return datetime.fromtimestamp(seconds, UTC)
    return now + timedelta(seconds=seconds)


def _retry_after_at(headers: httpx.Headers, now: datetime) -> datetime | None:
    for name in ("x-ratelimit-retry-after", "retry-after"):
        value = headers.get(name)
        seconds = _seconds(value)
        if seconds is not None:
            return now + timedelta(seconds=seconds)
        if value and name == "retry-after":
            return _http_date(value)
    return None


def _http_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
