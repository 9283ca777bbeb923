"""Sending to Braze: ``POST /users/track`` (and ``/users/identify``) through the guarded
client of ``mpbraze.http``.

The API key goes only into the ``Authorization`` header; it is never logged, and an answer
that echoes it is scrubbed before anything keeps it.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any

import httpx

from connections.braze.responses import (
    TrackOutcome,
    TrackResponse,
    TransportError,
    from_answer,
    from_error,
)
from mpbraze.http import base_url, describe_error, outbound_client

__all__ = ["BrazeTransport", "TrackOutcome", "TrackResponse", "Transport", "TransportError"]

logger = logging.getLogger(__name__)

TRACK_PATH = "/users/track"
IDENTIFY_PATH = "/users/identify"
# Braze answers are a few hundred bytes; a huge one must not exhaust a worker's memory.
MAX_ANSWER_BYTES = 1024 * 1024
REDACTED = "[redacted]"

Body = Mapping[str, Any] | bytes


class Transport(ABC):
    """One destination. Both methods return what happened instead of raising on failures;
    ``TrackResponse.raise_for_outcome`` turns a failure into a ``TransportError``."""

    @abstractmethod
    def send(self, body: Body) -> TrackResponse:
        """Deliver one request body (a mapping, or JSON bytes already encoded)."""

    @abstractmethod
    def test(self) -> TrackResponse:
        """Check the host and credentials without writing anything."""


class BrazeTransport(Transport):
    """``POST {rest host}/users/track`` with a bearer key.

    Pass a shared ``client`` from ``outbound_client()`` to reuse connections across sends;
    without one the transport opens its own and ``close()`` releases it.
    """

    def __init__(self, rest_host: str, api_key: str, client: httpx.Client | None = None) -> None:
        self.rest_host = rest_host
        self.url = f"{base_url(rest_host)}{TRACK_PATH}"
        self.identify_url = f"{base_url(rest_host)}{IDENTIFY_PATH}"
        self._api_key = api_key
        self._client = client or outbound_client()
        self._owns_client = client is None

    def __repr__(self) -> str:
        return f"BrazeTransport({self.rest_host!r})"

    def send(self, body: Body) -> TrackResponse:
        return self.track(body)

    def test(self) -> TrackResponse:
        """POST ``{}``: Braze answers 400 with a body for a valid key, 401 for a bad key or
        the wrong instance, 403 for a key without ``users.track``; nothing is written."""
        return self.track(b"{}")

    def track(self, body: Body) -> TrackResponse:
        """One attempt; ``TrackResponse.outcome`` says what to do next."""
        return self._post(self.url, body)

    def identify(self, body: Body) -> TrackResponse:
        """One ``/users/identify`` attempt, its answer classified as ``/users/track``'s are."""
        return self._post(self.identify_url, body)

    def _post(self, url: str, body: Body) -> TrackResponse:
        content = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":"))
        started = time.monotonic()
        try:
            with self._client.stream("POST", url, content=content, headers=self._headers()) as r:
                raw, note = _read_capped(r)
        except (httpx.HTTPError, UnicodeEncodeError) as exc:  # the latter: a non-ASCII key
            return self._log(self._failed(exc, started), url)
        text = self._scrub(raw.decode("utf-8", errors="replace"))
        ms = _elapsed_ms(started)
        answer = from_answer(r.status_code, r.headers, text, duration_ms=ms, note=note)
        return self._log(answer, url)

    def _failed(self, exc: BaseException, started: float) -> TrackResponse:
        failure = from_error(exc, duration_ms=_elapsed_ms(started))
        return replace(failure, message=self._scrub(failure.message))

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> BrazeTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key}",
            "Content-Type": "application/json",
            # A compressed answer could inflate far past the read cap in a single chunk.
            "Accept-Encoding": "identity",
        }

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, REDACTED) if self._api_key else text

    def _log(self, response: TrackResponse, url: str) -> TrackResponse:
        logger.debug(
            "POST %s -> %s %s in %d ms",
            url,
            response.status_code or response.error_class,
            response.outcome,
            response.duration_ms,
        )
        return response


def _read_capped(response: httpx.Response) -> tuple[bytes, str]:
    """At most ``MAX_ANSWER_BYTES`` of the body, and a note when it was cut short."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_ANSWER_BYTES:
                note = "the answer is larger than 1 MB; only its first 1 MB was read"
                return b"".join(chunks)[:MAX_ANSWER_BYTES], note
    except httpx.HTTPError as exc:
        return b"".join(chunks), f"the answer was cut off: {describe_error(exc)[1]}"
    return b"".join(chunks), ""


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
