"""A mapped user attribute → Braze ``subscription_groups`` in the user's attributes object.

mParticle's ``subscriptionGroupMapping`` (reference mparticle_braze_kit.md §4.9): an attribute
whose key is mapped becomes a subscription change *instead of* a custom attribute. True (or
"true", in any case, as the Android kit reads it) subscribes, false unsubscribes; any other
value changes nothing and is a mapping issue. Keys match exactly, as in the kits.
"""

from __future__ import annotations

from typing import Any, Final

from mapping.issues import IssueAction, IssueKind
from mapping.state import BatchState

SUBSCRIBED: Final = "subscribed"
UNSUBSCRIBED: Final = "unsubscribed"
NO_UNSET: Final = "a subscription group has no unset state at Braze: send false to unsubscribe"


def subscription_set(
    fields: dict[str, Any],
    key: str,
    group_id: str,
    value: object,
    state: BatchState,
    path: str,
    *,
    deleting: bool,
) -> None:
    """Add the group's new state to ``fields["subscription_groups"]``, or record why not."""
    if value is None:
        if deleting or state.plan.tag_value is None:
            state.skip(f"attribute “{key}” removed", NO_UNSET)
            return
        value = state.plan.tag_value  # a user tag: "true", as mParticle sends tags
    subscribed = _as_boolean(value)
    if subscribed is None:
        kind = IssueKind.SUBSCRIPTION_GROUP_NOT_BOOLEAN
        state.issue(kind, path, value, IssueAction.DROPPED_FIELD)
        return
    groups: list[dict[str, str]] = fields.setdefault("subscription_groups", [])
    # Two mapped attributes may drive one group: the later one in the batch decides.
    groups[:] = [group for group in groups if group["subscription_group_id"] != group_id]
    subscription_state = SUBSCRIBED if subscribed else UNSUBSCRIBED
    groups.append({"subscription_group_id": group_id, "subscription_state": subscription_state})


def _as_boolean(value: object) -> bool | None:
    if type(value) is bool:
        return value
    if type(value) is str:
        return {"true": True, "false": False}.get(value.lower())
    return None
