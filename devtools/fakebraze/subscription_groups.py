"""Braze's checks of ``subscription_groups`` in a ``/users/track`` attributes object.

Braze documents the field as an array of ``{subscription_group_id: UUID, subscription_state:
"subscribed" | "unsubscribed"}``, with an optional boolean ``use_double_opt_in_logic`` for SMS
groups, and its errors as ``BAD_SUBSCRIPTION_GROUP_ARRAY`` / ``_HASH`` / ``_ID`` / ``_STATE``
(reference braze_rest_api.md §1.7, §5.1). A bad entry rejects its attributes object, like the
other per-object errors; the texts below name the documented code, since live Braze strings
for these were not recorded. No limit on the entries per object is documented, so none is kept.
"""

from __future__ import annotations

import re
from typing import Any, Final

FIELD: Final = "subscription_groups"
STATES: Final = frozenset({"subscribed", "unsubscribed"})
UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)

BAD_ARRAY: Final = "BAD_SUBSCRIPTION_GROUP_ARRAY: 'subscription_groups' must be an array"
BAD_HASH: Final = (
    "BAD_SUBSCRIPTION_GROUP_HASH: each item of 'subscription_groups' must be an object with "
    "'subscription_group_id' and 'subscription_state'"
)
BAD_ID: Final = "BAD_SUBSCRIPTION_GROUP_ID: 'subscription_group_id' must be a valid UUID"
BAD_STATE: Final = (
    "BAD_SUBSCRIPTION_GROUP_STATE: 'subscription_state' must be 'subscribed' or 'unsubscribed'"
)


def subscription_groups_error(item: dict[str, Any]) -> str | None:
    """The first rule the object's ``subscription_groups`` breaks, or ``None``."""
    if FIELD not in item:
        return None
    groups = item[FIELD]
    if not isinstance(groups, list):
        return BAD_ARRAY
    for entry in groups:
        error = _entry_error(entry)
        if error is not None:
            return error
    return None


def _entry_error(entry: object) -> str | None:
    if not isinstance(entry, dict) or not {"subscription_group_id", "subscription_state"} <= set(
        entry
    ):
        return BAD_HASH
    if not isinstance(entry.get("use_double_opt_in_logic", False), bool):
        return BAD_HASH
    group_id = entry["subscription_group_id"]
    if not isinstance(group_id, str) or not UUID.fullmatch(group_id):
        return BAD_ID
    return None if entry["subscription_state"] in STATES else BAD_STATE
