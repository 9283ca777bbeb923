"""The public entry point: one mParticle batch + one output's context → Braze objects and issues.

Pure: no ORM, no HTTP, no settings lookups. Never raises for any JSON input; a bad part of a
batch becomes a MappingIssue and the rest still maps (docs/mapping.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from mapping.attributes import batch_attribute_fields, map_attribute_change
from mapping.commerce import map_commerce_event
from mapping.events import (
    SESSION_END,
    SESSION_START,
    map_custom_event,
    map_screen_view,
    map_session_event,
)
from mapping.identity import resolve_user
from mapping.issues import IssueAction, IssueKind
from mapping.messaging import map_opt_out, map_push_registration
from mapping.objects import (
    BrazeObject,
    MappingContext,
    MappingResult,
    ObjectKind,
    Profile,
    ProfileInput,
)
from mapping.profile import enriched_fields, profile_apply
from mapping.rules import MAX_STRING_LENGTH
from mapping.shape import validate_batch_shape
from mapping.state import BatchState
from mapping.timestamps import millis

__all__ = ["map_batch", "validate_batch_shape"]

EventMapper = Callable[[dict[str, Any], BatchState], None]
EVENT_MAPPERS: Final[dict[str, EventMapper]] = {
    "custom_event": map_custom_event,
    "screen_view": map_screen_view,
    "session_start": lambda data, state: map_session_event(data, state, SESSION_START),
    "session_end": lambda data, state: map_session_event(data, state, SESSION_END),
    "commerce_event": map_commerce_event,
    "user_attribute_change": map_attribute_change,
    "push_registration": map_push_registration,
    "opt_out": map_opt_out,
}
# Known mParticle event types that Braze has no use for: skipped, not reported.
NOT_FORWARDED: Final = frozenset(
    {
        "user_identity_change",
        "push_message",
        "push_reaction",
        "application_state_transition",
        "crash_report",
        "breadcrumb",
        "first_run",
        "pre_attribution",
        "profile",
        "network_performance",
        "uninstall",
        "media",
        "unknown",
    }
)


def map_batch(
    batch: Any, context: MappingContext, profile: ProfileInput | None = None
) -> MappingResult:
    """Map one parsed mParticle batch for one Braze output.

    With ``profile`` (the user's stored profile, ``mapping.profile``), the result carries the
    profile after this batch, and with "Include enriched user attributes" on, the batch's
    attributes object carries the stored attributes too.
    """
    state = BatchState(context)
    if type(batch) is not dict:
        state.issue(IssueKind.MALFORMED_EVENT, "$", batch, IssueAction.DROPPED_OBJECT)
        return _result(state)
    user = resolve_user(batch, state)
    if user is None:
        return _result(state)
    state.user = user
    state.batch_time_ms = millis(batch.get("timestamp_unixtime_ms"))
    if profile is not None:
        state.changes = []
    own = batch_attribute_fields(batch, state)
    _map_events(batch.get("events"), state)
    state.event_index = state.event_id = None
    _emit_batch_attributes(own, state, profile)
    if profile is None or state.changes is None:
        return _result(state)
    return _result(state, profile_apply(profile, state.changes, state))


def _emit_batch_attributes(
    own: dict[str, Any], state: BatchState, profile: ProfileInput | None
) -> None:
    """The batch-level attributes object, first of the batch's objects (built last, once the
    change events have said which attributes they carry themselves)."""
    if profile is not None and state.plan.settings.include_enriched_user_attributes:
        touched = {name for name, _value in state.changes or ()}
        own = enriched_fields(profile.stored, own, touched, state)
    user = state.user
    fields = {"email": user.email, **own} if user.email is not None else own
    # An alias-only profile must be created by an attributes object before events can land.
    if fields or "_update_existing_only" in user.attribute_ids:
        body = {**user.attribute_ids, **fields}
        state.objects.insert(0, BrazeObject(ObjectKind.ATTRIBUTES, body, None, None, user.key))


def _map_events(events: object, state: BatchState) -> None:
    if type(events) is not list:
        if events is not None:
            state.issue(IssueKind.MALFORMED_EVENT, "events", events, IssueAction.SKIPPED_EVENT)
        return
    for index, event in enumerate(events):
        state.event_index = index
        state.event_id = None
        _map_event(event, state)


def _map_event(event: object, state: BatchState) -> None:
    if type(event) is not dict:
        state.issue(IssueKind.MALFORMED_EVENT, "events[*]", event, IssueAction.SKIPPED_EVENT)
        return
    event_type, data = event.get("event_type"), event.get("data")
    if data is None:
        data = {}
    if type(event_type) is not str or type(data) is not dict:
        path = "events[*].data" if type(event_type) is str else "events[*].event_type"
        state.issue(IssueKind.MALFORMED_EVENT, path, event, IssueAction.SKIPPED_EVENT)
        return
    message_id = data.get("source_message_id")
    state.event_id = message_id[:MAX_STRING_LENGTH] if type(message_id) is str else None
    mapper = EVENT_MAPPERS.get(event_type)
    if mapper is not None:
        mapper(data, state)
    elif event_type in NOT_FORWARDED:
        state.skip(f"{event_type} event", "Braze has no use for this event type")
    else:
        path = "events[*].event_type"
        state.issue(IssueKind.UNSUPPORTED_EVENT_TYPE, path, event_type, IssueAction.SKIPPED_EVENT)


def _result(state: BatchState, profile: Profile | None = None) -> MappingResult:
    return MappingResult(tuple(state.objects), tuple(state.issues), tuple(state.skipped), profile)
