"""Who a batch is about: Braze `external_id` or `user_alias`, `email`, and the platform's app id.

docs/mapping.md "Identity"; reference mparticle_braze_kit.md §3 (S2S column).
"""

from __future__ import annotations

from typing import Any, Final

from mapping.issues import IssueAction, IssueKind
from mapping.output_settings import AnonymousUsers, ExternalIdentityType
from mapping.state import BatchState, UserRef

MAX_EXTERNAL_ID_BYTES: Final = 987
ALIAS_LABEL: Final = "mparticle_id"
MAX_EMAIL_LENGTH: Final = 255
# device_info.platform values with an app output; tvOS, roku, etc. have no app identifier here.
PLATFORMS: Final = {"ios": "ios", "android": "android", "web": "web"}
# The Python, Node and Ruby SDKs spell customer_id without the underscore.
_SDK_SPELLINGS: Final = {"customer_id": "customerid"}


def resolve_user(batch: dict[str, Any], state: BatchState) -> UserRef | None:
    """The batch's user, or None (recorded) when the output cannot send anything for it."""
    identity_type = state.context.external_identity_type
    if identity_type is ExternalIdentityType.MPID:
        path = "mpid"
        external_id = mpid_of(batch, state)
    else:
        path = f"user_identities.{identity_type.value}"
        external_id = identity_value(batch, identity_type.value, state)
    if external_id is None:
        return _anonymous_user(batch, state, path)
    if len(external_id.encode()) > MAX_EXTERNAL_ID_BYTES:
        state.issue(IssueKind.EXTERNAL_ID_TOO_LONG, path, external_id, IssueAction.DROPPED_OBJECT)
        return None
    return _user(batch, state, external_id, {"external_id": external_id}, {})


def _anonymous_user(batch: dict[str, Any], state: BatchState, path: str) -> UserRef | None:
    mpid = None
    if state.context.settings.anonymous_users is AnonymousUsers.USER_ALIAS:
        mpid = mpid_of(batch, state)
        path = "mpid" if mpid is None else path
    if mpid is None:
        state.issue(IssueKind.NO_EXTERNAL_ID, path, None, IssueAction.DROPPED_OBJECT)
        return None
    alias = {"alias_name": mpid, "alias_label": ALIAS_LABEL}
    # Braze makes alias-keyed attribute updates update-only unless told to create the profile.
    return _user(batch, state, mpid, {"user_alias": alias}, {"_update_existing_only": False})


def _user(
    batch: dict[str, Any], state: BatchState, key: str, ids: dict[str, Any], extra: dict[str, Any]
) -> UserRef:
    platform = platform_of(batch)
    app_id = state.context.app_ids.get(platform) if platform else None
    event_ids = {**ids, "app_id": app_id} if app_id else ids
    email = identity_value(batch, state.context.email_identity_type.value, state)
    if email is not None and not _looks_like_email(email):
        path = f"user_identities.{state.context.email_identity_type.value}"
        state.issue(IssueKind.INVALID_VALUE, path, email, IssueAction.DROPPED_FIELD)
        email = None
    return UserRef(key, event_ids, {**ids, **extra}, email, app_id, platform)


def identity_value(batch: dict[str, Any], name: str, state: BatchState) -> str | None:
    identities = batch.get("user_identities")
    if type(identities) is not dict:
        return None
    value = identities.get(name)
    if value is None and name in _SDK_SPELLINGS:
        value = identities.get(_SDK_SPELLINGS[name])
    return _identity_string(value, f"user_identities.{name}", state)


def _identity_string(value: object, path: str, state: BatchState) -> str | None:
    if type(value) is str:
        return value if value.strip() else None
    if value is None:
        return None
    if type(value) is int:
        state.issue(IssueKind.INVALID_VALUE, path, value, IssueAction.COERCED)
        return str(value)
    state.issue(IssueKind.INVALID_VALUE, path, value, IssueAction.DROPPED_FIELD)
    return None


def mpid_of(batch: dict[str, Any], state: BatchState) -> str | None:
    """The MPID as a string; the SDK lets it arrive as a JSON string. 0 means "no user"."""
    value = batch.get("mpid")
    if type(value) is int:
        text = str(value)
    elif type(value) is str:
        text = value.strip()
        digits = text[1:] if text.startswith("-") else text
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 20):
            state.issue(IssueKind.INVALID_VALUE, "mpid", value, IssueAction.DROPPED_FIELD)
            return None
        text = str(int(text))
    else:
        if value is not None:
            state.issue(IssueKind.INVALID_VALUE, "mpid", value, IssueAction.DROPPED_FIELD)
        return None
    return None if text == "0" else text


def platform_of(batch: dict[str, Any]) -> str | None:
    device = batch.get("device_info")
    platform = device.get("platform") if type(device) is dict else None
    return PLATFORMS.get(platform.lower()) if type(platform) is str else None


def _looks_like_email(value: str) -> bool:
    """Braze rejects the whole attributes object for a bad email; catch the obvious ones."""
    return "@" in value and len(value) <= MAX_EMAIL_LENGTH and not any(c.isspace() for c in value)
