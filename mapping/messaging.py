"""Reachability: push registrations → `push_tokens`, opt-out → `email_subscribe`."""

from __future__ import annotations

from typing import Any

from mapping.issues import IssueAction, IssueKind
from mapping.objects import ObjectKind
from mapping.state import BatchState

MAX_TOKEN_LENGTH = 4096  # far above any APNs/FCM/web-push token; a longer one is garbage


def map_push_registration(data: dict[str, Any], state: BatchState) -> None:
    """The newest token for this user and app; an unregistration has no /users/track form."""
    if data.get("register") is False:
        state.skip("push unregistration", "Braze's /users/track has no way to remove a token")
        return
    token = data.get("registration_token")
    if type(token) is not str or not token.strip() or len(token) > MAX_TOKEN_LENGTH:
        # The example is the type only: a push token is a credential for messaging the device.
        path = "events[*].data.registration_token"
        state.issue(IssueKind.INVALID_VALUE, path, type(token).__name__, IssueAction.SKIPPED_EVENT)
        return
    app_id = state.user.app_id
    if app_id is None:
        path = "device_info.platform"
        state.issue(IssueKind.MISSING_APP_ID, path, state.user.platform, IssueAction.SKIPPED_EVENT)
        return
    tokens = [{"app_id": app_id, "token": token}]
    state.emit(ObjectKind.ATTRIBUTES, {**state.user.attribute_ids, "push_tokens": tokens})


def map_opt_out(data: dict[str, Any], state: BatchState) -> None:
    """Opting out unsubscribes from email; opting back in does not re-subscribe anyone."""
    if data.get("is_opted_out") is not True:
        state.skip("opt-out event (opted back in)", "opting back in re-subscribes no one to email")
        return
    if not state.accepts_attribute("email_subscribe", "email_subscribe"):
        return
    body = {**state.user.attribute_ids, "email_subscribe": "unsubscribed"}
    state.emit(ObjectKind.ATTRIBUTES, body)
