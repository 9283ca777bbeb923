"""Failed sends for auditors: filters, search, the attempt history of each row."""

from __future__ import annotations

from django.contrib import admin

from connections.admin import ReadOnlyMixin
from connections.delivery.models import Delivery, DeliveryAttempt, InboundBatch


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
    list_filter = ("status", "connection", "error_class", "last_status_code", "kind", "created_at")
    search_fields = ("user_key", "event_name", "last_error")
    list_select_related = ("connection",)
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]
    date_hierarchy = "created_at"


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
    )
    list_filter = ("outcome", "connection", "status_code", "error_class", "started_at")
    search_fields = ("braze_message", "response_excerpt")
    exclude = ("deliveries",)
    readonly_fields = [f.name for f in DeliveryAttempt._meta.fields]


@admin.register(InboundBatch)
class InboundBatchAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("pk", "connection", "received_at", "status", "source_request_id", "historical")
    list_filter = ("status", "connection", "historical", "received_at")
    search_fields = ("source_request_id",)
    readonly_fields = [f.name for f in InboundBatch._meta.fields]
