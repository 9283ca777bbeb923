"""The ``/_fake/`` control endpoints: read recordings, set faults, keys and limits.

Not part of Braze's API; they let a test or a script drive a fake running in another process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from devtools.fakebraze.config import TRACK_PERMISSION, Faults
from devtools.fakebraze.identify import CONTROL_ROUTES as USER_DATA_CONTROL_ROUTES
from devtools.fakebraze.refusals import set_refused_users
from devtools.fakebraze.state import FakeBrazeState
from devtools.fakebraze.wire import IncomingRequest, Reply, message

CONTROL_PREFIX = "/_fake/"

Action = Callable[[FakeBrazeState, IncomingRequest], dict[str, Any]]


def handle_control(state: FakeBrazeState, request: IncomingRequest) -> Reply:
    """Run the control action for ``request``; a bad payload answers 400 with the reason."""
    action = ROUTES.get((request.method, request.path))
    if action is None:
        return message(404)
    try:
        return Reply(200, action(state, request))
    except (ValueError, TypeError) as exc:
        return message(400, str(exc))


def _payload(request: IncomingRequest) -> dict[str, Any]:
    payload = json.loads(request.body) if request.body.strip() else {}
    if not isinstance(payload, dict):
        raise ValueError("the control payload must be a JSON object")
    return payload


def list_requests(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    return {"requests": state.recorder.requests()}


def list_deleted(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    return {"deleted": state.deletions.deleted(request.query.get("kind"))}


def list_accepted(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    return {"accepted": state.recorder.accepted(request.query.get("kind"))}


def reset(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    state.reset()
    return {"message": "reset"}


def get_faults(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    return state.faults.current().to_dict()


def set_faults(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    """Replace every fault setting; omitted fields go back to their defaults."""
    data = _payload(request)
    state.faults.set(Faults.from_dict(data))
    return state.faults.current().to_dict()


def get_keys(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    return {"keys": state.keys.describe()}


def set_key(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    """``{"key": k, "permissions": [...]}`` adds or replaces; ``{"key": k, "remove": true}``."""
    data = _payload(request)
    key = data.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError("'key' must be a non-empty string")
    if data.get("remove"):
        state.keys.remove(key)
    else:
        state.keys.set(key, _permissions(data.get("permissions", [TRACK_PERMISSION])))
    return {"keys": state.keys.describe()}


def _permissions(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValueError("'permissions' must be a list of strings")
    return value


def get_limits(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    return state.limits()


def set_limits(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    """Partial update of ``rate_limit`` ("N/S"), ``rate_limit_style`` and ``batch_mode``."""
    data = _payload(request)
    unknown = set(data) - {"rate_limit", "rate_limit_style", "batch_mode"}
    if unknown:
        raise ValueError(f"unknown limit fields: {', '.join(sorted(unknown))}")
    state.update_limits(
        data.get("rate_limit"), data.get("rate_limit_style"), data.get("batch_mode")
    )
    return state.limits()


ROUTES: dict[tuple[str, str], Action] = {
    ("GET", "/_fake/requests"): list_requests,
    ("GET", "/_fake/accepted"): list_accepted,
    ("GET", "/_fake/deleted"): list_deleted,
    ("POST", "/_fake/reset"): reset,
    ("GET", "/_fake/faults"): get_faults,
    ("POST", "/_fake/faults"): set_faults,
    ("GET", "/_fake/keys"): get_keys,
    ("POST", "/_fake/keys"): set_key,
    ("GET", "/_fake/limits"): get_limits,
    ("POST", "/_fake/limits"): set_limits,
    **USER_DATA_CONTROL_ROUTES,
    ("POST", "/_fake/refused-users"): set_refused_users,
}
