"""Per-user refusals: objects of the external ids a test names are answered with Braze's
per-object error (``errors[]``, as Braze names an object it will not take), so a rejection
of one user's objects can be driven end to end (``POST /_fake/refused-users``)."""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any

from devtools.fakebraze.state import FakeBrazeState
from devtools.fakebraze.validation import VALID_DATA_REQUIRED, TrackResult
from devtools.fakebraze.wire import IncomingRequest

_LOCK = threading.Lock()
_REFUSED: weakref.WeakKeyDictionary[FakeBrazeState, dict[str, str]] = weakref.WeakKeyDictionary()


def set_refused_users(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    """``{"users": {"external id": "Braze's error type text", …}}``; ``{}`` refuses none."""
    payload = json.loads(request.body or b"{}")
    users = payload.get("users") if isinstance(payload, dict) else None
    if not isinstance(users, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in users.items()
    ):
        raise ValueError("users: an object of external id → error text")
    with _LOCK:
        _REFUSED[state] = dict(users)
    return {"users": users}


def refuse_users(state: FakeBrazeState, result: TrackResult) -> TrackResult:
    """``result`` with the refused users' objects moved from accepted to ``errors``."""
    with _LOCK:
        refused = dict(_REFUSED.get(state, {}))
    if result.status != 201 or not refused:
        return result
    kept = [a for a in result.accepted if str(a[2].get("external_id")) not in refused]
    errors = [
        {"type": refused[str(item.get("external_id"))], "input_array": kind, "index": index}
        for kind, index, item in result.accepted
        if str(item.get("external_id")) in refused
    ]
    if not errors:
        return result
    body = dict(result.body)
    body["errors"] = [*body.get("errors", []), *errors]
    for error in errors:
        key = f"{error['input_array']}_processed"
        if isinstance(body.get(key), int):
            body[key] -= 1
    if not kept:
        return TrackResult(400, {"message": VALID_DATA_REQUIRED, "errors": body["errors"]})
    return TrackResult(201, body, kept)
