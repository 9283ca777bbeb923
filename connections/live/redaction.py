"""What a viewer may see of a live event: app keys masked always; user identities and
attributes as ``••••`` when the connection asks so, for everyone without the Ops right."""

from __future__ import annotations

from typing import Any, Final

from django.contrib.auth.models import AnonymousUser, User

from connections.audit.display import masked
from connections.models import Connection

REDACTED: Final = "••••"
UNREDACTED_PERMISSION: Final = "connections.view_unredacted_live_events"
# Keys whose values are identities or user attributes, in a batch, an event or a Braze object.
SOURCE_KEYS: Final = frozenset(
    {"mpid", "user_identities", "user_attributes", "identities", "new", "old", "new_value"}
)
BRAZE_ID_KEYS: Final = frozenset(
    {"external_id", "user_alias", "braze_id", "email", "phone", "alias_name"}
)
ATTRIBUTE_KEEP: Final = frozenset({"_update_existing_only", "app_id"})


def live_redacts(connection: Connection, user: User | AnonymousUser) -> bool:
    return connection.redact_live_events and not user.has_perm(UNREDACTED_PERMISSION)


def redact_source(value: Any) -> Any:
    """An mParticle event or batch with identities and user attribute values hidden."""
    if isinstance(value, dict):
        return {k: _hidden(v) if k in SOURCE_KEYS else redact_source(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_source(item) for item in value]
    return value


def shown_object(kind: str, body: Any, *, redact: bool) -> Any:
    """A Braze object as sent: app_id masked; when ``redact``, its user ids hidden and, in
    an attributes object, every attribute value."""
    body = masked(body)
    if not redact or not isinstance(body, dict):
        return body
    if kind == "attributes":
        return {k: v if k in ATTRIBUTE_KEEP else _hidden(v) for k, v in body.items()}
    return {k: _hidden(v) if k in BRAZE_ID_KEYS else v for k, v in body.items()}


def shown_user(user: str, *, redact: bool) -> str:
    return REDACTED if redact and user != "anonymous" else user


def _hidden(value: Any) -> Any:
    if isinstance(value, dict):
        return dict.fromkeys(value, REDACTED)
    return REDACTED if value not in (None, "", [], {}) else value
