"""The request and answer shapes passed between the HTTP handler and the route logic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from devtools.fakebraze.faults import FaultAction


@dataclass(frozen=True)
class IncomingRequest:
    """A request as read off the socket; header names are lower-case, ``body`` is empty
    when ``too_large``."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)
    too_large: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    """A JSON answer, or an instruction to drop the connection without one."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: FaultAction | None = None  # RESET or TIMEOUT
    delay_seconds: float = 0.0  # injected latency, before answering or dropping
    hang_seconds: float = 0.0  # how long a TIMEOUT drop waits before hanging up


def message(status: int, text: str | None = None) -> Reply:
    """``{"message": text}``, Braze's usual error body; the reason phrase by default."""
    return Reply(status, {"message": text or reason_phrase(status)})


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
