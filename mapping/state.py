"""Per-batch working state: the compiled settings, the resolved user, what has been emitted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mapping.issues import Issue, IssueAction, IssueKind, bounded_path, example_of
from mapping.objects import BrazeObject, MappingContext, ObjectKind, Skipped
from mapping.output_settings import OutputSettings, TypeDetection, UserTagsValue

# Purchases are matched by this name in the event allow/deny lists (their mParticle name).
PURCHASE_FILTER_NAME = "eCommerce - purchase"
ITEM_LENGTH = 120  # a skipped item's name, as the preview shows it


def attribute_filter_key(key: str) -> str:
    """Allow/deny entries match with or without `$` and in any case: `$FirstName` = `firstname`."""
    return key.lstrip("$").casefold()


@dataclass(frozen=True, slots=True)
class Plan:
    """OutputSettings turned into what the hot path tests: booleans and sets."""

    settings: OutputSettings
    detect_event_values: bool
    detect_user_values: bool
    tag_value: str | None  # mParticle sends a user tag as the string "true" (or null)
    subscription_groups: Mapping[str, str]  # user attribute key → Braze subscription group id
    event_allow: frozenset[str] | None
    event_deny: frozenset[str]
    attribute_allow: frozenset[str] | None
    attribute_deny: frozenset[str]


@lru_cache(maxsize=512)
def compile_plan(settings: OutputSettings) -> Plan:
    detection = settings.type_detection
    attr_allow = settings.attribute_allowlist
    return Plan(
        settings=settings,
        detect_event_values=detection in (TypeDetection.EVENT_ATTRIBUTES, TypeDetection.BOTH),
        detect_user_values=detection in (TypeDetection.USER_ATTRIBUTES, TypeDetection.BOTH),
        tag_value="true" if settings.user_tags_value is UserTagsValue.TRUE else None,
        subscription_groups={
            link.attribute: link.subscription_group_id
            for link in settings.subscription_group_mapping
        },
        event_allow=frozenset(settings.event_allowlist) if settings.event_allowlist else None,
        event_deny=frozenset(settings.event_denylist),
        attribute_allow=frozenset(map(attribute_filter_key, attr_allow)) if attr_allow else None,
        attribute_deny=frozenset(map(attribute_filter_key, settings.attribute_denylist)),
    )


@dataclass(frozen=True, slots=True)
class UserRef:
    """Who the batch is about, as Braze identifiers ready to be spread into each body."""

    key: str
    event_ids: dict[str, Any]
    attribute_ids: dict[str, Any]
    email: str | None
    app_id: str | None
    platform: str | None


class BatchState:
    """Collects objects, issues and the items left out while one batch is mapped."""

    __slots__ = (
        "batch_time_ms",
        "changes",
        "context",
        "event_id",
        "event_index",
        "issues",
        "objects",
        "plan",
        "skipped",
        "user",
    )
    user: UserRef

    def __init__(self, context: MappingContext) -> None:
        self.context = context
        self.plan = compile_plan(context.settings)
        self.issues: list[Issue] = []
        self.objects: list[BrazeObject] = []
        self.skipped: list[Skipped] = []
        self.event_index: int | None = None
        self.event_id: str | None = None
        self.batch_time_ms: int | None = None
        # The attributes this batch sets or removes, in order (None = removed), for the user's
        # profile; None when the caller keeps no profile, so the hot path records nothing.
        self.changes: list[tuple[str, Any]] | None = None

    def record_changes(self, fields: dict[str, Any]) -> None:
        if self.changes is not None:
            self.changes.extend(fields.items())

    def issue(self, kind: IssueKind, path: str, value: object, action: IssueAction) -> None:
        record = Issue(kind, bounded_path(path), example_of(value), action, self.event_index)
        self.issues.append(record)

    def skip(self, item: str, why: str) -> None:
        """Leave an item out under the output's settings: named for the preview, no issue."""
        self.skipped.append(Skipped(self.event_index, item[:ITEM_LENGTH], why))

    def emit(self, kind: ObjectKind, body: dict[str, Any]) -> None:
        self.objects.append(BrazeObject(kind, body, self.event_index, self.event_id, self.user.key))

    def accepts_event(self, name: str) -> bool:
        """Apply the event allow/deny lists; a refused event is skipped, not reported."""
        plan = self.plan
        if plan.event_allow is not None and name not in plan.event_allow:
            self.skip(f"event “{name}”", "not in the event allowlist")
            return False
        if name in plan.event_deny:
            self.skip(f"event “{name}”", "in the event denylist")
            return False
        return True

    def accepts_attribute(self, key: str, braze_key: str) -> bool:
        plan = self.plan
        if plan.attribute_allow is None and not plan.attribute_deny:
            return True
        names = (attribute_filter_key(key), attribute_filter_key(braze_key))
        allowed = plan.attribute_allow is None or any(n in plan.attribute_allow for n in names)
        if not allowed:
            self.skip(f"attribute “{key}”", "not in the attribute allowlist")
            return False
        if any(n in plan.attribute_deny for n in names):
            self.skip(f"attribute “{key}”", "in the attribute denylist")
            return False
        return True
