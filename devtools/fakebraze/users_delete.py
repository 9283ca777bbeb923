"""``POST /users/delete`` (reference §6): Braze's permanent deletion of user profiles.

Checks in the order ``/users/track`` does: injected faults, body size, authentication (the key
needs ``users.delete``), the user-data rate limit (a bucket of its own per key, 20,000 a minute
by default: Braze counts its user-data endpoints apart from ``/users/track``), Content-Type,
JSON syntax, then the body: exactly one of ``external_ids``, ``user_aliases``, ``braze_ids``,
``email_addresses``, ``phone_numbers``, a non-empty array of at most 50 ids (emails and phone
numbers also need ``prioritization``). Answers ``{"deleted": n, "message": "success"}`` with
the number of ids queued, and records every id so tests can ask what was deleted
(``GET /_fake/deleted``). The 2xx status Braze uses here is not documented; the fake answers 202.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from devtools.fakebraze.config import RateLimit
from devtools.fakebraze.faults import FaultAction
from devtools.fakebraze.keys import fingerprint
from devtools.fakebraze.ratelimit import RateLimiter
from devtools.fakebraze.recorder import RequestRecord
from devtools.fakebraze.wire import IncomingRequest, Reply, message

DELETE_PATH = "/users/delete"
DELETE_PERMISSION = "users.delete"
MAX_IDS = 50
ID_KINDS = ("external_ids", "user_aliases", "braze_ids", "email_addresses", "phone_numbers")
USER_DATA_RATE = "20000/60"
PARSE_ERROR = "Error while parsing request body. Please check your syntax."


class DeletionLog:
    """Every id a ``/users/delete`` request queued for deletion, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deleted: list[dict[str, Any]] = []

    def add(self, seq: int, kind: str, ids: list[Any]) -> None:
        with self._lock:
            self._deleted += [{"request": seq, "kind": kind, "id": item} for item in ids]

    def deleted(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [row for row in self._deleted if kind in (None, row["kind"])]

    def clear(self) -> None:
        with self._lock:
            self._deleted.clear()


def user_data_limiter(style: str) -> RateLimiter:
    return RateLimiter(RateLimit.parse(USER_DATA_RATE, style))


def handle_users_delete(state: Any, request: IncomingRequest, record: RequestRecord) -> Reply:
    """The answer to one ``/users/delete`` request (``state`` is the fake's shared state)."""
    if request.method != "POST":
        return Reply(405, {"message": "Method Not Allowed"}, {"Allow": "POST"})
    fault = state.faults.draw()
    auth = state.keys.authorize(request.header("Authorization"), permission=DELETE_PERMISSION)
    record.key_fingerprint = fingerprint(auth.key) if auth.key else None
    if fault.action is FaultAction.RESET:
        record.fault = fault.source
        return Reply(0, drop=FaultAction.RESET)
    if fault.action is FaultAction.STATUS:
        record.fault = fault.source
        return message(fault.status)
    if request.too_large:
        return message(413, "Request Entity Too Large")
    if auth.status:
        return message(auth.status, auth.message)
    decision = state.user_data_limiter.take(auth.key)
    if not decision.allowed:
        return Reply(429, {"message": "API rate limit exceeded"}, decision.headers)
    reply = _process(state, request, record)
    reply.headers.update(decision.headers)
    reply.delay_seconds = state.faults.latency_seconds
    return reply


def _process(state: Any, request: IncomingRequest, record: RequestRecord) -> Reply:
    if (request.header("Content-Type") or "").split(";")[0].strip().lower() != "application/json":
        return message(415)
    try:
        payload = json.loads(request.body)
    except ValueError:
        return Reply(400, {"error": PARSE_ERROR})
    problem = users_delete_problem(payload)
    if problem:
        return message(400, problem)
    kind = next(k for k in ID_KINDS if k in payload)
    record.counts = {kind: len(payload[kind])}
    state.deletions.add(record.seq, kind, payload[kind])
    return Reply(202, {"deleted": len(payload[kind]), "message": "success"})


def users_delete_problem(payload: Any) -> str:
    """Why Braze would refuse this body, or ``""``."""
    if not isinstance(payload, dict):
        return "The request body must be a JSON object."
    kinds = [k for k in ID_KINDS if k in payload]
    if len(kinds) != 1:
        return f"Provide exactly one of {', '.join(ID_KINDS)}."
    ids = payload[kinds[0]]
    if not isinstance(ids, list) or not ids:
        return f"'{kinds[0]}' must be a non-empty array."
    if len(ids) > MAX_IDS:
        return f"Max Input Length Exceeded: at most {MAX_IDS} ids per request."
    if kinds[0] in ("email_addresses", "phone_numbers") and not payload.get("prioritization"):
        return f"'prioritization' is required with '{kinds[0]}'."
    bad = next((n for n, item in enumerate(ids) if not _valid_id(kinds[0], item)), None)
    return "" if bad is None else f"'{kinds[0]}' item {bad} is not a valid id."


def _valid_id(kind: str, item: Any) -> bool:
    if kind == "user_aliases":
        return (
            isinstance(item, dict)
            and isinstance(item.get("alias_name"), str)
            and isinstance(item.get("alias_label"), str)
            and bool(item["alias_name"] and item["alias_label"])
        )
    return isinstance(item, str) and bool(item.strip())
