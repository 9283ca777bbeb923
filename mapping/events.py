"""Custom events, screen views and session events → Braze event objects (docs/mapping.md)."""

from __future__ import annotations

from typing import Any, Final

from mapping.issues import IssueAction, IssueKind
from mapping.objects import ObjectKind
from mapping.rules import MAX_STRING_LENGTH, clean_properties
from mapping.state import BatchState
from mapping.timestamps import event_time

SESSION_START: Final = "Session Start"
SESSION_END: Final = "Session End"
MAX_EVENT_NAME_LENGTH: Final = 255
ATTRIBUTES_PATH: Final = "events[*].data.custom_attributes"
SETTING_OFF: Final = "this output's settings do not forward {}"


def event_name(raw: object, state: BatchState, path: str) -> str | None:
    """A sendable Braze event name (leading `$` stripped), or None after recording why not."""
    if type(raw) is str:
        name = raw.lstrip("$") if raw[:1] == "$" else raw
    elif type(raw) is int:
        state.issue(IssueKind.INVALID_VALUE, path, raw, IssueAction.COERCED)
        name = str(raw)
    else:
        name = ""
    if not name or name.isspace():
        state.issue(IssueKind.INVALID_VALUE, path, raw, IssueAction.SKIPPED_EVENT)
        return None
    if len(name) > MAX_EVENT_NAME_LENGTH:
        state.issue(IssueKind.EVENT_NAME_TOO_LONG, path, raw, IssueAction.DROPPED_OBJECT)
        return None
    return name


def emit_event(
    state: BatchState, name: str, data: dict[str, Any], properties: dict[str, Any]
) -> None:
    emit_at(state, name, event_time(data, state), properties)


def emit_at(state: BatchState, name: str, time: str, properties: dict[str, Any]) -> None:
    body = {**state.user.event_ids, "name": name, "time": time}
    if properties:
        body["properties"] = properties
    state.emit(ObjectKind.EVENTS, body)


def map_custom_event(data: dict[str, Any], state: BatchState) -> None:
    name = event_name(data.get("event_name"), state, "events[*].data.event_name")
    if name is None or not state.accepts_event(name):
        return
    properties = clean_properties(data.get("custom_attributes"), state, ATTRIBUTES_PATH)
    _add_session_id(properties, data, state)
    emit_event(state, name, data, properties)


def map_screen_view(data: dict[str, Any], state: BatchState) -> None:
    if not state.plan.settings.forward_screen_views:
        state.skip(f"screen view “{data.get('screen_name')}”", SETTING_OFF.format("screen views"))
        return
    name = event_name(data.get("screen_name"), state, "events[*].data.screen_name")
    if name is None or not state.accepts_event(name):
        return
    properties = clean_properties(data.get("custom_attributes"), state, ATTRIBUTES_PATH)
    _add_session_id(properties, data, state)
    emit_event(state, name, data, properties)


def map_session_event(data: dict[str, Any], state: BatchState, name: str) -> None:
    if not state.plan.settings.forward_session_events:
        state.skip(name, SETTING_OFF.format("session events"))
        return
    if not state.accepts_event(name):
        return
    session_id = _session_id(data)
    emit_event(state, name, data, {} if session_id is None else {"session_id": session_id})


def _add_session_id(properties: dict[str, Any], data: dict[str, Any], state: BatchState) -> None:
    # mParticle adds session_id to custom and screen events only when sessions are forwarded.
    if state.plan.settings.forward_session_events and "session_id" not in properties:
        session_id = _session_id(data)
        if session_id is not None:
            properties["session_id"] = session_id


def _session_id(data: dict[str, Any]) -> int | str | None:
    value = data.get("session_id")
    if type(value) is int and -(2**63) <= value < 2**63:
        return value
    uuid = data.get("session_uuid")
    if type(uuid) is str and uuid and len(uuid) <= MAX_STRING_LENGTH:
        return uuid
    return None
