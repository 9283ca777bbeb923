"""The Braze side of the fake: routing and the ``POST /users/track`` pipeline.

Order of checks: injected faults, body size (a proxy refuses it before the app sees it),
authentication, rate limit, Content-Type, JSON syntax, object cap, per-object rules.
"""

from __future__ import annotations

import json

from devtools.fakebraze.faults import FaultAction, FaultDraw
from devtools.fakebraze.identify import ENDPOINTS as USER_DATA_ENDPOINTS
from devtools.fakebraze.identify import handle_user_data
from devtools.fakebraze.keys import AuthOutcome, fingerprint
from devtools.fakebraze.recorder import RequestRecord
from devtools.fakebraze.refusals import refuse_users
from devtools.fakebraze.state import FakeBrazeState
from devtools.fakebraze.users_delete import DELETE_PATH, handle_users_delete
from devtools.fakebraze.validation import KINDS, split_arrays, validate_track
from devtools.fakebraze.wire import IncomingRequest, Reply, message

TRACK_PATH = "/users/track"
PARSE_ERROR = "Error while parsing request body. Please check your syntax."
RATE_LIMITED = "API rate limit exceeded"


def handle_braze(state: FakeBrazeState, request: IncomingRequest) -> Reply:
    """Answer a request to any non-control path, and record it."""
    record = state.recorder.start(request.method, request.path)
    reply = _route(state, request, record)
    record.status = None if reply.drop else reply.status
    record.outcome = reply.drop.value if reply.drop else "answered"
    state.recorder.finish(record)
    return reply


def _route(state: FakeBrazeState, request: IncomingRequest, record: RequestRecord) -> Reply:
    if request.path == DELETE_PATH:
        return handle_users_delete(state, request, record)
    if request.path in USER_DATA_ENDPOINTS:
        return handle_user_data(state, request, record)
    if request.path != TRACK_PATH:
        return message(404)
    if request.method != "POST":
        reply = message(405)
        reply.headers["Allow"] = "POST"
        return reply
    reply = _track(state, request, record)
    reply.delay_seconds = state.faults.latency_seconds
    return reply


def _track(state: FakeBrazeState, request: IncomingRequest, record: RequestRecord) -> Reply:
    fault = state.faults.draw()
    auth = state.keys.authorize(request.header("Authorization"))
    record.key_fingerprint = fingerprint(auth.key) if auth.key else None
    refusal = _refusal(state, request, record, fault, auth)
    if refusal is not None:
        return refusal
    assert auth.key is not None  # a refusal answers every request without a valid key
    decision = state.limiter.take(auth.key)
    if not decision.allowed:
        return Reply(429, {"message": RATE_LIMITED}, decision.headers)
    reply = _process(state, request, record)
    reply.headers.update(decision.headers)
    if fault.action is FaultAction.TIMEOUT and reply.status == 201:
        _apply_timeout(state, record, fault, reply)
    return reply


def _refusal(
    state: FakeBrazeState,
    request: IncomingRequest,
    record: RequestRecord,
    fault: FaultDraw,
    auth: AuthOutcome,
) -> Reply | None:
    """The answer given before any token is spent, or ``None`` to go on."""
    if fault.action in (FaultAction.RESET, FaultAction.STATUS):
        record.fault = fault.source
        return _forced(state, fault, auth.key)
    if request.too_large:
        return _with_peek(state, auth.key, message(413, "Request Entity Too Large"))
    if auth.status:
        return _with_peek(state, auth.key, message(auth.status, auth.message))
    return None


def _forced(state: FakeBrazeState, fault: FaultDraw, key: str | None) -> Reply:
    if fault.action is FaultAction.RESET:
        return Reply(0, drop=FaultAction.RESET)
    if fault.status == 429:
        retry_after = state.faults.retry_after_seconds
        return Reply(429, {"message": RATE_LIMITED}, state.limiter.forced_throttle(retry_after))
    return _with_peek(state, key, message(fault.status))


def _with_peek(state: FakeBrazeState, key: str | None, reply: Reply) -> Reply:
    reply.headers.update(state.limiter.peek(key))
    return reply


def _process(state: FakeBrazeState, request: IncomingRequest, record: RequestRecord) -> Reply:
    if _media_type(request.header("Content-Type")) != "application/json":
        return message(415)
    try:
        payload = json.loads(request.body)
    except ValueError:
        # Braze answers a syntax error with an "error" field, not "message" (reference §1.8).
        return Reply(400, {"error": PARSE_ERROR})
    arrays = split_arrays(payload)
    if arrays is not None:
        record.counts = {kind: len(arrays.get(kind, ())) for kind in KINDS}
    result = refuse_users(state, validate_track(payload, state.batch_mode))
    if result.status == 201:
        state.recorder.accept(record.seq, result.accepted)
    return Reply(result.status, result.body)


def _apply_timeout(
    state: FakeBrazeState, record: RequestRecord, fault: FaultDraw, reply: Reply
) -> None:
    """The objects stay accepted, but the client never hears so."""
    record.fault = fault.source
    reply.drop = FaultAction.TIMEOUT
    reply.hang_seconds = state.faults.hang_seconds


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()
