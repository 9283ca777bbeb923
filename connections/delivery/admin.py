"""Failed sends for auditors: filters, search, the attempt history of each row."""

from __future__ import annotations

from django.contrib import admin

from connections.admin import ReadOnlyMixin
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


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt.deliveries.through
    verbose_name = "HTTP attempt"
    verbose_name_plural = "HTTP attempts"
    fields = readonly_fields = ("deliveryattempt",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "pk",
        "connection",
        "kind",
        "event_name",
        "user_key",
        "status",
        "attempts",
        "last_status_code",
        "error_class",
        "created_at",
    )
    list_filter = (
        "status",
        "connection",
        recent_values_filter("error_class", "error class"),
        recent_values_filter("last_status_code", "HTTP status"),
        "kind",
        "created_at",
    )
    search_fields = ("user_key", "event_name", "last_error")
    list_select_related = ("connection",)
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "pk",
        "connection",
        "started_at",
        "duration_ms",
        "object_count",
        "outcome",
        "status_code",
        "error_class",
        "braze_message",
        "worker",
    )
    list_filter = (
        "outcome",
        "connection",
        recent_values_filter("status_code", "HTTP status"),
        recent_values_filter("error_class", "error class"),
        recent_values_filter("worker", "worker"),
        "started_at",
    )
    search_fields = ("braze_message", "response_excerpt")
    exclude = ("deliveries",)
    readonly_fields = [f.name for f in DeliveryAttempt._meta.fields]


@admin.register(InboundBatch)
class InboundBatchAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "pk",
        "connection",
        "received_at",
        "status",
        "map_attempts",
        "error",
        "source_request_id",
        "historical",
    )
    list_filter = ("status", "connection", "historical", "received_at")
    search_fields = ("source_request_id",)
    readonly_fields = [f.name for f in InboundBatch._meta.fields]
