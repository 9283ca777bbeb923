"""The fake's ``POST /users/identify`` and ``POST /users/alias/new`` (reference §6).

Each needs its own permission (``users.identify``, ``users.alias.new``); both count against
the user-data rate limit (20,000 a minute per workspace, shared by Braze's identify, alias,
delete and merge endpoints, apart from ``/users/track``'s); at most 50 items a request. The
injected faults apply as to ``/users/track``, and accepted items are recorded in the same
sequence as its requests (``kind`` "identify" or "alias"), so a test can tell which came first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools.fakebraze.config import RateLimit
from devtools.fakebraze.faults import FaultAction
from devtools.fakebraze.keys import fingerprint
from devtools.fakebraze.ratelimit import RateLimiter
from devtools.fakebraze.recorder import RequestRecord
from devtools.fakebraze.state import FakeBrazeState
from devtools.fakebraze.wire import IncomingRequest, Reply, message

IDENTIFY_PATH = "/users/identify"
ALIAS_NEW_PATH = "/users/alias/new"
MAX_ITEMS = 50
MAX_EXTERNAL_ID_BYTES = 987
MERGE_BEHAVIORS = frozenset({"none", "merge"})
PARSE_ERROR = "Error while parsing request body. Please check your syntax."
RATE_LIMITED = "API rate limit exceeded"
MAX_INPUT_LENGTH = "Max Input Length Exceeded"
NO_VALID_ITEM = "No valid item was provided in '{array}'."
NOT_A_LIST = "'{array}' must be a non-empty array"
BAD_MERGE_BEHAVIOR = "'merge_behavior' must be 'none' or 'merge'"
NOT_AN_OBJECT = "Each item of '{array}' must be an object"
BAD_USER_ALIAS = "'user_alias' must be an object with string 'alias_name' and 'alias_label'"
BAD_ALIAS_FIELDS = "'alias_name' and 'alias_label' must be non-empty strings"
EXTERNAL_ID_REQUIRED = "'external_id' must be a non-empty string"
EXTERNAL_ID_TOO_LARGE = "'external_id' must be fewer than 988 bytes"

ItemCheck = Callable[[dict[str, Any]], "str | None"]


@dataclass(frozen=True)
class Endpoint:
    """One user-data route: the permission it needs, its array, how its items are checked and
    the ``kind`` its accepted items are recorded under."""

    permission: str
    array: str
    kind: str
    check: ItemCheck


def handle_user_data(
    state: FakeBrazeState, request: IncomingRequest, record: RequestRecord
) -> Reply:
    """Answer a request to one of ``ENDPOINTS`` (the caller records it)."""
    if request.method != "POST":
        reply = message(405)
        reply.headers["Allow"] = "POST"
        return reply
    reply = _answer(state, request, record, ENDPOINTS[request.path])
    reply.delay_seconds = state.faults.latency_seconds
    return reply


def _answer(
    state: FakeBrazeState, request: IncomingRequest, record: RequestRecord, endpoint: Endpoint
) -> Reply:
    fault = state.faults.draw()
    auth = state.keys.authorize(request.header("Authorization"), endpoint.permission)
    record.key_fingerprint = fingerprint(auth.key) if auth.key else None
    limiter = state.user_data_limiter
    if fault.action is FaultAction.RESET:
        record.fault = fault.source
        return Reply(0, drop=FaultAction.RESET)
    if fault.action is FaultAction.STATUS:
        record.fault = fault.source
        return _forced(state, limiter, fault.status, auth.key)
    if request.too_large:
        return _peeked(limiter, auth.key, message(413, "Request Entity Too Large"))
    if auth.status or auth.key is None:
        return _peeked(limiter, auth.key, message(auth.status or 401, auth.message))
    decision = limiter.take(auth.key)
    if not decision.allowed:
        return Reply(429, {"message": RATE_LIMITED}, decision.headers)
    reply = _process(state, request, record, endpoint)
    reply.headers.update(decision.headers)
    if fault.action is FaultAction.TIMEOUT and reply.status == 201:
        record.fault = fault.source
        reply.drop, reply.hang_seconds = FaultAction.TIMEOUT, state.faults.hang_seconds
    return reply


def _forced(state: FakeBrazeState, limiter: RateLimiter, status: int, key: str | None) -> Reply:
    if status == 429:
        headers = limiter.forced_throttle(state.faults.retry_after_seconds)
        return Reply(429, {"message": RATE_LIMITED}, headers)
    return _peeked(limiter, key, message(status))


def _peeked(limiter: RateLimiter, key: str | None, reply: Reply) -> Reply:
    reply.headers.update(limiter.peek(key))
    return reply


def _process(
    state: FakeBrazeState, request: IncomingRequest, record: RequestRecord, endpoint: Endpoint
) -> Reply:
    if (request.header("Content-Type") or "").split(";")[0].strip().lower() != "application/json":
        return message(415)
    try:
        payload = json.loads(request.body)
    except ValueError:
        return Reply(400, {"error": PARSE_ERROR})
    items = payload.get(endpoint.array) if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        return message(400, NOT_A_LIST.format(array=endpoint.array))
    record.counts = {endpoint.array: len(items)}
    if len(items) > MAX_ITEMS:
        return message(400, MAX_INPUT_LENGTH)
    if "merge_behavior" in payload and payload["merge_behavior"] not in MERGE_BEHAVIORS:
        return message(400, BAD_MERGE_BEHAVIOR)
    return _items(state, record, endpoint, items)


def _items(
    state: FakeBrazeState, record: RequestRecord, endpoint: Endpoint, items: list[Any]
) -> Reply:
    errors: list[dict[str, Any]] = []
    accepted: list[tuple[str, int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        problem = _check(endpoint, item)
        if problem is None:
            accepted.append((endpoint.kind, index, item))
        else:
            errors.append({"type": problem, "input_array": endpoint.array, "index": index})
    if not accepted:
        text = NO_VALID_ITEM.format(array=endpoint.array)
        return Reply(400, {"message": text, "errors": errors})
    state.recorder.accept(record.seq, accepted)
    body: dict[str, Any] = {"aliases_processed": len(accepted), "message": "success"}
    if errors:
        body["errors"] = errors
    return Reply(201, body)


def _check(endpoint: Endpoint, item: object) -> str | None:
    if not isinstance(item, dict):
        return NOT_AN_OBJECT.format(array=endpoint.array)
    return endpoint.check(item)


def _external_id_problem(value: object, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        return EXTERNAL_ID_REQUIRED
    if len(value.encode()) > MAX_EXTERNAL_ID_BYTES:
        return EXTERNAL_ID_TOO_LARGE
    return None


def _alias_fields_ok(alias: object) -> bool:
    return isinstance(alias, dict) and all(
        isinstance(alias.get(name), str) and alias[name] for name in ("alias_name", "alias_label")
    )


def _identify_item(item: dict[str, Any]) -> str | None:
    """``{"external_id": …, "user_alias": {"alias_name": …, "alias_label": …}}``."""
    problem = _external_id_problem(item.get("external_id"), required=True)
    if problem is not None:
        return problem
    return None if _alias_fields_ok(item.get("user_alias")) else BAD_USER_ALIAS


def _alias_new_item(item: dict[str, Any]) -> str | None:
    """``{"external_id"?: …, "alias_name": …, "alias_label": …}``: without an external id,
    Braze creates an alias-only user."""
    problem = _external_id_problem(item.get("external_id"), required=False)
    if problem is not None:
        return problem
    return None if _alias_fields_ok(item) else BAD_ALIAS_FIELDS


ENDPOINTS: dict[str, Endpoint] = {
    IDENTIFY_PATH: Endpoint("users.identify", "aliases_to_identify", "identify", _identify_item),
    ALIAS_NEW_PATH: Endpoint("users.alias.new", "user_aliases", "alias", _alias_new_item),
}


# --- /_fake/ control of the user-data rate limit ----------------------------------------------


def get_user_data_limits(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    rate = state.user_data_limiter.rate
    return {"rate_limit": rate.describe(), "rate_limit_style": rate.style.value}


def set_user_data_limits(state: FakeBrazeState, request: IncomingRequest) -> dict[str, Any]:
    """``{"rate_limit": "N/S"}`` (and optionally ``rate_limit_style``): fresh buckets."""
    data = json.loads(request.body) if request.body.strip() else {}
    if not isinstance(data, dict) or not isinstance(data.get("rate_limit"), str):
        raise ValueError("'rate_limit' must be a string like '20000/60'")
    unknown = set(data) - {"rate_limit", "rate_limit_style"}
    if unknown:
        raise ValueError(f"unknown limit fields: {', '.join(sorted(unknown))}")
    current = state.user_data_limiter.rate
    style = data.get("rate_limit_style", current.style.value)
    state.user_data_limiter = RateLimiter(RateLimit.parse(data["rate_limit"], style))
    return get_user_data_limits(state, request)


CONTROL_ROUTES = {
    ("GET", "/_fake/user-data-limits"): get_user_data_limits,
    ("POST", "/_fake/user-data-limits"): set_user_data_limits,
}
