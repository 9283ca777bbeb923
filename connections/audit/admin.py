"""The auditors' admin: failed sends, failure groups, replays and discards.

Everyone with the view permission reads; replay and discard need their own permissions (the
Ops role) and always go through a dry-run page first.
"""

from __future__ import annotations

from copy import copy
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Count, Q, QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
    StreamingHttpResponse,
)
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from connections.admin_display import EMPTY, ReadOnlyMixin, pretty_json, when
from connections.admin_query import unstorable_integer_filters
from connections.audit import display, views
from connections.audit.admin_filters import FAILED_SEND_FILTERS
from connections.audit.export import failed_sends_csv
from connections.audit.models import FailedSend, FailureGroup, ReplayRun
from connections.audit.selectors import FILTERS, OPEN, SelectionError
from connections.delivery.models import Delivery


def failed_sends_url(**params: Any) -> str:
    return reverse("admin:connections_failedsend_changelist") + "?" + urlencode(params)


@admin.register(FailedSend)
class FailedSendAdmin(ReadOnlyMixin, admin.ModelAdmin[FailedSend]):
    list_display = ("failed", "connection", "user", "what", "problem", "http_status", "state")
    list_display_links = ("failed",)
    list_filter = FAILED_SEND_FILTERS
    search_fields = ("user_key",)  # the search itself is the selector's: user, event, error
    search_help_text = "Search by user (external_id or alias), event name or error text."
    list_select_related = ("connection", "failure_group")
    ordering = ("-failed_at", "-pk")
    list_per_page = 50
    actions = ["replay_selected", "discard_selected"]
    change_list_template = "admin/audit/failed_sends.html"
    change_form_template = "admin/audit/failed_send.html"
    fieldsets = (
        (None, {"fields": ("summary", "state", "failure", "counters", "replays")}),
        ("Object as sent", {"fields": ("object_as_sent",)}),
        ("Source mParticle event", {"fields": ("source_event",)}),
        ("HTTP attempts", {"fields": ("attempts_table",)}),
    )
    readonly_fields = (
        "summary",
        "state",
        "failure",
        "counters",
        "replays",
        "object_as_sent",
        "source_event",
        "attempts_table",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(failed_at__isnull=False)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if not search_term.strip():
            return queryset, False
        return FILTERS["q"](queryset, search_term), False

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("export.csv", wrap(self.export_csv), name="connections_failedsend_export"),
            path("replay/", wrap(self.replay_view), name="connections_failedsend_replay"),
            path("discard/", wrap(self.discard_view), name="connections_failedsend_discard"),
            *super().get_urls(),
        ]

    # --- permissions -------------------------------------------------------------------
    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("connections.replay_delivery")

    def has_discard_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("connections.discard_delivery")

    # --- the list ----------------------------------------------------------------------
    @admin.display(description="Failed at", ordering="failed_at")
    def failed(self, row: Delivery) -> str:
        return when(row.failed_at)

    @admin.display(description="User", ordering="user_key")
    def user(self, row: Delivery) -> str:
        return row.user_key[:40] or EMPTY

    @admin.display(description="What")
    def what(self, row: Delivery) -> str:
        kind = row.get_kind_display()
        return f"{kind}: {row.event_name}" if row.event_name else kind

    @admin.display(description="Why")
    def problem(self, row: Delivery) -> str:
        text = row.last_error or (row.failure_group.title if row.failure_group else "")
        return (text[:90] + "…") if len(text) > 90 else text or EMPTY

    @admin.display(description="HTTP", ordering="last_status_code")
    def http_status(self, row: Delivery) -> str:
        return str(row.last_status_code or row.error_class or EMPTY)

    @admin.display(description="State", ordering="status")
    def state(self, row: Delivery) -> str:
        if row.replay_count and row.status not in OPEN:
            return f"{row.get_status_display()} (replayed {row.replay_count} times)"
        return row.get_status_display()

    # --- the detail --------------------------------------------------------------------
    @admin.display(description="Row")
    def summary(self, row: Delivery) -> str:
        return format_html(
            "{} · {} · user <code>{}</code> · batch #{} object {}",
            row.connection,
            self.what(row),
            row.user_key or EMPTY,
            row.batch_id,
            row.sequence,
        )

    @admin.display(description="Failed at")
    def failure(self, row: Delivery) -> str:
        group = row.failure_group
        if group is None:
            return row.last_error or EMPTY
        link = failed_sends_url(group=group.pk, state="all")
        return format_html(
            '{}: {}<br><a href="{}">{} ({}, {} row{})</a>',
            when(row.failed_at),
            row.last_error or EMPTY,
            link,
            group.title,
            group.get_status_display(),
            group.count,
            "" if group.count == 1 else "s",
        )

    @admin.display(description="Attempts")
    def counters(self, row: Delivery) -> str:
        text = display.attempt_counts(row)
        if row.status == Delivery.Status.QUEUED:
            text += f"; next attempt at {when(row.next_attempt_at)}"
        return text

    @admin.display(description="Replays")
    def replays(self, row: Delivery) -> str:
        run = row.replay_run
        if run is None:
            return "Never replayed or discarded."
        link = reverse("admin:connections_replayrun_change", args=[run.pk])
        return format_html(
            '{} times replayed; last: <a href="{}">{} #{}</a> by {} at {}',
            row.replay_count,
            link,
            run.get_action_display(),
            run.pk,
            run.requested_by or run.requested_via,
            when(run.created_at),
        )

    @admin.display(description="Object")
    def object_as_sent(self, row: Delivery) -> str:
        return pretty_json(display.masked(row.body))

    @admin.display(description="Event")
    def source_event(self, row: Delivery) -> str:
        return pretty_json(display.source_event(row))

    @admin.display(description="Attempts, oldest first")
    def attempts_table(self, row: Delivery) -> str:
        return display.attempts_table(row)

    # --- export, replay, discard -------------------------------------------------------
    def filtered_rows(self, request: HttpRequest) -> QuerySet[Any]:
        """Exactly the rows the list shows under its current filter and search. A parameter
        the list would not apply raises ``IncorrectLookupParameters`` naming it: where the
        list leaves a filter out or starts again (``?e=1``), an export must not widen."""
        refused = unstorable_integer_filters(request, self)
        if refused:
            raise IncorrectLookupParameters(
                f"Filter “{refused[0]}”: expected a whole number of at most 64 bits."
            )
        for name, value in request.GET.items():
            if (
                name in FILTERS and isinstance(value, str) and value
            ):  # the list shows none for a bad value, and says why
                try:
                    FILTERS[name](Delivery.objects.none(), value)
                except SelectionError as error:
                    raise IncorrectLookupParameters(
                        f"Filter “{error.field}”: {error.message}."
                    ) from None
        try:
            return self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            name = self.unknown_filter(request)
            raise IncorrectLookupParameters(
                f"Filter “{name}”: not a filter of the failed sends, or a value it cannot take."
            ) from None

    def unknown_filter(self, request: HttpRequest) -> str:
        """The first query-string parameter the list refuses when given alone."""
        for key, values in request.GET.lists():
            alone = copy(request)
            query = QueryDict(mutable=True)
            query.setlist(key, values)
            alone.GET = query  # type: ignore[assignment]  # the stubs type GET as never replaced
            try:
                self.get_changelist_instance(alone).get_queryset(alone)
            except IncorrectLookupParameters:
                return key
        return "&".join(request.GET)  # each alone is fine; together they are not

    def export_csv(self, request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        try:
            rows = self.filtered_rows(request)
        except IncorrectLookupParameters as error:
            return HttpResponseBadRequest(
                f"The export was not made. {error}", content_type="text/plain; charset=utf-8"
            )
        response = StreamingHttpResponse(failed_sends_csv(rows), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="failed-sends.csv"'
        return response

    def replay_view(self, request: HttpRequest) -> HttpResponse:
        return views.confirm(self, request, action=ReplayRun.Action.REPLAY)

    def discard_view(self, request: HttpRequest) -> HttpResponse:
        return views.confirm(self, request, action=ReplayRun.Action.DISCARD)

    @admin.action(description="Replay the selected rows…", permissions=["replay"])
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse:
        return views.to_confirm(self, request, queryset, "replay")

    @admin.action(description="Discard the selected rows…", permissions=["discard"])
    def discard_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse:
        return views.to_confirm(self, request, queryset, "discard")

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        query = request.GET.urlencode()
        context = {
            "title": "Failed sends",
            **(extra_context or {}),
            "export_url": reverse("admin:connections_failedsend_export") + "?" + query,
            "replay_url": reverse("admin:connections_failedsend_replay") + "?" + query,
            "discard_url": reverse("admin:connections_failedsend_discard") + "?" + query,
            "may_replay": self.has_replay_permission(request),
            "may_discard": self.has_discard_permission(request),
        }
        return super().changelist_view(request, context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """The row's own page, with a "Replay…" button to the dry run of this one row."""
        context = {
            **(extra_context or {}),
            "replay_url": reverse("admin:connections_failedsend_replay")
            + "?"
            + urlencode({"ids": object_id}),
            "may_replay": self.has_replay_permission(request),
        }
        return super().change_view(request, object_id, form_url, context)


@admin.register(FailureGroup)
class FailureGroupAdmin(ReadOnlyMixin, admin.ModelAdmin[FailureGroup]):
    list_display = ("title_link", "connection", "status", "count", "open_rows", "seen")
    list_filter = ("status", "kind", "connection")
    search_fields = ("title", "braze_error", "sample_user", "sample_message")
    list_select_related = ("connection",)
    ordering = ("-last_seen",)
    fields = readonly_fields = (
        "connection",
        "title",
        "kind",
        "status_class",
        "braze_error",
        "status",
        "count",
        "open_rows",
        "first_seen",
        "last_seen",
        "resolved_at",
        "sample",
        "rows_link",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        still_failed = Count("deliveries", filter=Q(deliveries__status__in=OPEN))
        return super().get_queryset(request).annotate(open_count=still_failed)

    @admin.display(description="Failure", ordering="title")
    def title_link(self, group: FailureGroup) -> str:
        return format_html('<a href="{}">{}</a>', failed_sends_url(group=group.pk), group.title)

    @admin.display(description="Rows still failed", ordering="open_count")
    def open_rows(self, group: FailureGroup) -> int:
        return int(getattr(group, "open_count", 0))

    @admin.display(description="First and last seen", ordering="last_seen")
    def seen(self, group: FailureGroup) -> str:
        return f"{when(group.first_seen)} → {when(group.last_seen)}"

    @admin.display(description="Sample")
    def sample(self, group: FailureGroup) -> str:
        return format_html(
            "user <code>{}</code>: {}", group.sample_user or EMPTY, group.sample_message or EMPTY
        )

    @admin.display(description="Rows")
    def rows_link(self, group: FailureGroup) -> str:
        return format_html(
            '<a href="{}">Open rows</a> · <a href="{}">all rows</a>',
            failed_sends_url(group=group.pk),
            failed_sends_url(group=group.pk, state="all"),
        )


# The replay runs' list lives beside: importing it registers it.
import connections.audit.admin_runs  # noqa: E402, F401
