"""User attributes, attribute changes and deletions → Braze attributes objects (docs/mapping.md).

Custom attributes take string, number, boolean, date and arrays; objects are dropped. Without
type detection for user attributes, every platform but the web sends their values as strings
(mParticle's Braze page, https://docs.mparticle.com/integrations/braze/event/): a web batch keeps
its JSON types, any other batch's numbers and booleans become text.
"""

from __future__ import annotations

from math import isfinite
from typing import Any, Final

from mapping.detection import detect_type
from mapping.issues import IssueAction, IssueKind
from mapping.objects import ObjectKind
from mapping.reserved import BRAZE_CONTROL_KEYS, RESERVED_ATTRIBUTES
from mapping.rules import (
    DROP,
    MAX_STRING_LENGTH,
    clean_key,
    foreign_value,
    is_plain_key,
    is_plain_scalar,
    number,
    truncate,
)
from mapping.state import BatchState
from mapping.subscription_groups import subscription_set

CHANGE_PATH: Final = "events[*].data.new"
WEB: Final = "web"
_A = IssueAction
_K = IssueKind


def batch_attribute_fields(batch: dict[str, Any], state: BatchState) -> dict[str, Any]:
    """The batch's own user attributes and deletions, for its batch-level attributes object.
    They go whatever "Include enriched user attributes" says: the setting decides whether
    the user's stored profile travels with them (``mapping.profile``)."""
    fields: dict[str, Any] = {}
    _apply_user_attributes(batch.get("user_attributes"), fields, state)
    _apply_deletions(batch.get("deleted_user_attributes"), fields, state)
    state.record_changes(fields)
    return fields


def map_attribute_change(data: dict[str, Any], state: BatchState) -> None:
    key = data.get("user_attribute_name")
    if type(key) is not str:
        path = "events[*].data.user_attribute_name"
        state.issue(_K.INVALID_VALUE, path, key, _A.SKIPPED_EVENT)
        return
    fields: dict[str, Any] = {}
    if data.get("deleted") is True:
        set_attribute(fields, key, None, state, CHANGE_PATH, deleting=True)
    else:
        set_attribute(fields, key, data.get("new"), state, CHANGE_PATH)
    if fields:
        state.record_changes(fields)
        state.emit(ObjectKind.ATTRIBUTES, {**state.user.attribute_ids, **fields})


def _apply_user_attributes(raw: object, fields: dict[str, Any], state: BatchState) -> None:
    if type(raw) is not dict:
        if raw is not None:
            state.issue(_K.INVALID_VALUE, "user_attributes", raw, _A.DROPPED_FIELD)
        return
    for key, value in raw.items():
        set_attribute(fields, key, value, state, "user_attributes")


def _apply_deletions(raw: object, fields: dict[str, Any], state: BatchState) -> None:
    if raw is None:
        return
    if type(raw) is not list:
        state.issue(_K.INVALID_VALUE, "deleted_user_attributes", raw, _A.DROPPED_FIELD)
        return
    for key in raw:
        set_attribute(fields, key, None, state, "deleted_user_attributes", deleting=True)


def set_attribute(
    fields: dict[str, Any],
    key: object,
    value: object,
    state: BatchState,
    prefix: str,
    deleting: bool = False,
) -> None:
    """Put one mParticle attribute into ``fields`` under its Braze name, if it may be sent."""
    reserved = RESERVED_ATTRIBUTES.get(key.lower()) if isinstance(key, str) else None
    if reserved is not None:
        braze_key, convert = reserved
        if state.accepts_attribute(str(key), braze_key):
            converted = convert(value, state, f"{prefix}.{key}")
            if converted is not DROP:
                fields[braze_key] = converted
        return
    if isinstance(key, str) and key in state.plan.subscription_groups:
        if state.accepts_attribute(key, key):  # a subscription, never also a custom attribute
            group_id = state.plan.subscription_groups[key]
            path = f"{prefix}.{key}"
            subscription_set(fields, key, group_id, value, state, path, deleting=deleting)
        return
    if isinstance(key, str) and is_plain_key(key, BRAZE_CONTROL_KEYS):
        name: str | None = key
    else:
        name = clean_key(key, state, f"{prefix}.{key}", BRAZE_CONTROL_KEYS)
    if name is None or not state.accepts_attribute(name, name):
        return
    if value is None:  # a deletion, or an mParticle user tag (set without a value)
        if deleting or state.plan.tag_value is None:
            fields[name] = None
            return
        value = state.plan.tag_value  # the string "true", type-detected like any other
    elif not state.plan.detect_user_values and state.user.platform != WEB:
        value = _as_text(value, state, f"{prefix}.{key}")
        if value is DROP:
            return
    if is_plain_scalar(value, state.plan.detect_user_values):
        fields[name] = value
        return
    converted = attribute_value(value, state, f"{prefix}.{key}")
    if converted is not DROP:
        fields[name] = converted


def _as_text(value: object, state: BatchState, path: str) -> Any:
    """A number or boolean as the text a non-web platform sends; other values as they are."""
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value) if isfinite(value) else number(value, state, path)  # type: ignore[arg-type]
    return value


def attribute_value(value: object, state: BatchState, path: str) -> Any:
    kind = type(value)
    if kind is str:
        text: str = value  # type: ignore[assignment]
        if state.plan.detect_user_values:
            detected = detect_type(text)
            if type(detected) is not str:
                return detected
        return text if len(text) <= MAX_STRING_LENGTH else truncate(text, state, path)
    if kind is bool:
        return value
    if kind is int or kind is float:
        return number(value, state, path)  # type: ignore[arg-type]
    if kind is list:
        return list_value(value, state, path)  # type: ignore[arg-type]
    if kind is dict:
        state.issue(_K.OBJECT_IN_CUSTOM_ATTRIBUTE, path, value, _A.DROPPED_FIELD)
        return DROP
    converted = foreign_value(value, state, path)
    return DROP if converted is DROP else attribute_value(converted, state, path)


def list_value(values: list[Any], state: BatchState, path: str) -> list[str] | str:
    """A string array, or a comma-joined string unless lists are sent as arrays."""
    items: list[str] = []
    reported: set[IssueKind] = set()  # one issue per list and kind, however long the list
    for item in values:
        if type(item) is str:
            items.append(item)
        elif item is not None:
            text = _list_item_text(item, state, f"{path}[*]", reported)
            if text is not None:
                items.append(text)
    settings = state.plan.settings
    if not settings.send_user_attribute_lists_as_arrays:
        joined = ",".join(items)
        return joined if len(joined) <= MAX_STRING_LENGTH else truncate(joined, state, path)
    if any(len(item) > MAX_STRING_LENGTH for item in items):
        state.issue(_K.STRING_TRUNCATED, f"{path}[*]", values, _A.TRUNCATED)
        items = [item[:MAX_STRING_LENGTH] for item in items]
    if len(items) > settings.max_attribute_array_length:
        state.issue(_K.ARRAY_TRUNCATED, path, values, _A.TRUNCATED)
        items = items[: settings.max_attribute_array_length]
    return items


def _list_item_text(
    item: object, state: BatchState, path: str, reported: set[IssueKind]
) -> str | None:
    """Braze arrays hold strings: numbers and booleans become text, objects are left out."""
    kind = type(item)
    if kind is bool or kind is int or (kind is float and isfinite(item)):  # type: ignore[arg-type]
        text = str(item).lower() if kind is bool else str(item)
        _report_once(state, reported, _K.INVALID_VALUE, path, item, _A.COERCED)
        return text
    if kind is dict or kind is list:
        issue = _K.OBJECT_IN_CUSTOM_ATTRIBUTE
    else:
        issue = _K.NON_FINITE_NUMBER if kind is float else _K.INVALID_VALUE
    _report_once(state, reported, issue, path, item, _A.DROPPED_FIELD)
    return None


def _report_once(
    state: BatchState,
    reported: set[IssueKind],
    kind: IssueKind,
    path: str,
    value: object,
    action: IssueAction,
) -> None:
    if kind not in reported:
        reported.add(kind)
        state.issue(kind, path, value, action)
