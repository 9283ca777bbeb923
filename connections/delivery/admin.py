"""Every outbox row, attempt and batch, for auditors; failed sends have their own entry
(``connections.audit.admin``) with filters, groups, CSV and replay."""

from __future__ import annotations

from django.contrib import admin

from connections.admin_display import ReadOnlyMixin, pretty_json, when
from connections.audit import display
from connections.delivery.models import Delivery, DeliveryAttempt, InboundBatch


class RecentValuesFilter(admin.SimpleListFilter):
    """Choices taken from the newest rows only: Django's default, a DISTINCT over the whole
    table on every page load, would be the slowest query of the admin on a large outbox."""

    window = 10_000
    field = ""

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        newest = model_admin.model.objects.order_by("-pk").values_list(self.field, flat=True)
        values = {value for value in newest[: self.window] if value not in ("", None)}
        return [(str(value), str(value)) for value in sorted(values, key=str)[:50]]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


def recent_values_filter(field: str, title: str) -> type[RecentValuesFilter]:
    attributes = {"field": field, "title": title, "parameter_name": field}
    return type(f"Recent_{field}_filter", (RecentValuesFilter,), attributes)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin[Delivery]):
    list_display = (
        "pk",
        "connection",
        "kind",
        "event_name",
        "size",
        "user",
        "status",
        "created_at",
    )
    list_filter = ("status", "connection", "kind")
    search_fields = ("user_key", "event_name", "last_error")
    list_select_related = ("connection",)
    fields = readonly_fields = (
        "connection",
        "output",
        "kind",
        "event_name",
        "size",
        "user_key",
        "status",
        "created_at",
        "next_attempt",
        "sent_at",
        "last_error",
        "counters",
        "object_as_sent",
        "attempts_table",
    )

    @admin.display(description="User", ordering="user_key")
    def user(self, row: Delivery) -> str:
        return row.user_key[:40]

    @admin.display(description="Next attempt at")
    def next_attempt(self, row: Delivery) -> str:
        """Only while the row waits: a final row has no next attempt."""
        waiting = row.status == Delivery.Status.QUEUED
        return when(row.next_attempt_at) if waiting else "— (not waiting)"

    @admin.display(description="Attempts")
    def counters(self, row: Delivery) -> str:
        return display.attempt_counts(row)

    @admin.display(description="Objects as sent")
    def object_as_sent(self, row: Delivery) -> str:
        """The row's object, or its objects when it holds a user's several of a batch."""
        if not row.more:
            return pretty_json(display.masked(row.body))
        return pretty_json([display.masked(held.body) for held in row.held_objects()])

    @admin.display(description="HTTP attempts, oldest first")
    def attempts_table(self, row: Delivery) -> str:
        return display.attempts_table(row)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyMixin, admin.ModelAdmin[DeliveryAttempt]):
    list_display = (
        "started_at",
        "connection",
        "duration_ms",
        "object_count",
        "outcome",
        "status_code",
    )
    list_filter = (
        "outcome",
        "connection",
        recent_values_filter("status_code", "HTTP status"),
        recent_values_filter("error_class", "error class"),
        recent_values_filter("worker", "worker"),
    )
    search_fields = ("braze_message", "response_excerpt")
    fields = readonly_fields = (
        "connection",
        "output",
        "started_at",
        "finished_at",
        "duration_ms",
        "object_count",
        "request_bytes",
        "outcome",
        "status_code",
        "error_class",
        "braze_message",
        "errors_shown",
        "response_excerpt",
        "worker",
        "claim_token",
    )

    @admin.display(description="Braze errors")
    def errors_shown(self, attempt: DeliveryAttempt) -> str:
        return pretty_json(attempt.braze_errors)


@admin.register(InboundBatch)
class InboundBatchAdmin(ReadOnlyMixin, admin.ModelAdmin[InboundBatch]):
    list_display = ("pk", "connection", "received_at", "status", "map_attempts", "historical")
    list_filter = ("status", "connection", "historical")
    search_fields = ("source_request_id",)
    fields = readonly_fields = (
        "connection",
        "received_at",
        "status",
        "map_attempts",
        "error",
        "source_request_id",
        "historical",
        "payload_shown",
    )

    @admin.display(description="Batch as received")
    def payload_shown(self, batch: InboundBatch) -> str:
        return pretty_json(batch.payload)
