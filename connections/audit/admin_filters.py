"""The failed-sends list filters. Each applies the filter of the same name in
``connections.audit.selectors``, so the page, its CSV and its replay select the same rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from connections.audit import selectors
from connections.audit.models import FailureGroup
from connections.delivery.models import Delivery
from connections.models import Connection, Platform

RECENT = 10_000  # choices come from the newest failed rows only, never a scan of the table


class SelectorFilter(admin.SimpleListFilter):
    """A list filter whose query is the selector's; a bad value is named, not a 500."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value in (None, ""):
            return queryset
        try:
            return selectors.FILTERS[str(self.parameter_name)](queryset, str(value))
        except selectors.SelectionError as error:
            messages.error(request, f"Filter “{error.field}”: {error.message}.")
            return queryset.none()

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return self.options()

    def options(self) -> list[tuple[str, str]]:
        """The filter's choices (value, label); each filter below lists its own."""
        return []


class StateFilter(SelectorFilter):
    title = "state"
    parameter_name = "state"

    def options(self) -> list[tuple[str, str]]:
        return [
            ("open", "Open (dead or rejected)"),
            ("replayed", "Replayed"),
            ("discarded", "Discarded"),
            ("all", "All"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() is None:
            return queryset.filter(selectors.STATES[selectors.DEFAULT_STATE])
        return super().queryset(request, queryset)

    def choices(self, changelist: Any) -> Any:
        """ "Open" is the default, so it is the one selected when nothing is asked."""
        for value, label in self.lookup_choices:
            current = self.value() or selectors.DEFAULT_STATE
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }


class ConnectionFilter(SelectorFilter):
    title = "connection"
    parameter_name = "connection"

    def options(self) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in Connection.objects.values_list("pk", "name")[:200]]


class PlatformFilter(SelectorFilter):
    title = "source platform"
    parameter_name = "platform"

    def options(self) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in Platform.choices]


class KindFilter(SelectorFilter):
    title = "how it failed"
    parameter_name = "kind"

    def options(self) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in FailureGroup.Kind.choices]


class RecentValuesFilter(SelectorFilter):
    """Choices from the newest failed rows (or groups) only."""

    column = ""
    source: Any = Delivery

    def options(self) -> list[tuple[str, str]]:
        rows = self.source.objects.order_by("-pk").values_list(self.column, flat=True)[:RECENT]
        values = sorted({str(v) for v in rows if v not in ("", None)})[:50]
        return [(value, value[:60]) for value in values]


class ErrorClassFilter(RecentValuesFilter):
    title = "error class"
    parameter_name = "error_class"
    column = "error_class"


class StatusCodeFilter(RecentValuesFilter):
    title = "HTTP status"
    parameter_name = "status_code"
    column = "last_status_code"

    def options(self) -> list[tuple[str, str]]:
        failed = Delivery.objects.filter(failed_at__isnull=False).order_by("-failed_at")
        codes = failed.values_list("last_status_code", flat=True)[:RECENT]
        return [(str(c), str(c)) for c in sorted({c for c in codes if c is not None})]


class BrazeErrorFilter(RecentValuesFilter):
    title = "Braze error type"
    parameter_name = "braze_error"
    column = "braze_error"
    source = FailureGroup


class GroupFilter(SelectorFilter):
    title = "failure group"
    parameter_name = "group"

    def options(self) -> list[tuple[str, str]]:
        groups = FailureGroup.objects.select_related("connection").order_by("-last_seen")[:20]
        return [(str(g.pk), f"{g.connection}: {g.title}"[:80]) for g in groups]


class FailedSinceFilter(SelectorFilter):
    """Date range: these links set the start; ``failed_before`` (a date) sets the end."""

    title = "failed"
    parameter_name = "failed_since"

    def options(self) -> list[tuple[str, str]]:
        today = timezone.localdate()
        return [
            (today.isoformat(), "Today"),
            ((today - timedelta(days=7)).isoformat(), "Past 7 days"),
            ((today - timedelta(days=30)).isoformat(), "Past 30 days"),
        ]


class FailedBeforeFilter(SelectorFilter):
    title = "failed before"
    parameter_name = "failed_before"

    def options(self) -> list[tuple[str, str]]:
        today = timezone.localdate()
        return [((today - timedelta(days=n)).isoformat(), f"{n} days ago") for n in (1, 7, 30)]


FAILED_SEND_FILTERS = (
    StateFilter,
    ConnectionFilter,
    PlatformFilter,
    KindFilter,
    ErrorClassFilter,
    StatusCodeFilter,
    BrazeErrorFilter,
    GroupFilter,
    FailedSinceFilter,
    FailedBeforeFilter,
)
