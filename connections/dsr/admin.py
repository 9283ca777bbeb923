"""Data subject requests in the audit admin: read-only, for Auditors and Ops. A request shows
its status (and the reason when it failed), what each connection asked Braze to delete and
erased here (counts, never an identity), and every status callback with its answer."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from connections.admin_display import LabelledAdmin, ReadOnlyMixin, pretty_json, when
from connections.dsr.models import DataSubjectCallback, DataSubjectRequest
from connections.dsr.processing import summary


class CallbackInline(ReadOnlyMixin, admin.TabularInline[DataSubjectCallback, DataSubjectRequest]):
    model = DataSubjectCallback
    fields = readonly_fields = (
        "request_status",
        "url",
        "state",
        "attempts",
        "last_status_code",
        "last_error",
        "sent",
    )
    extra = 0

    @admin.display(description="sent at")
    def sent(self, callback: DataSubjectCallback) -> str:
        return when(callback.sent_at)


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(ReadOnlyMixin, LabelledAdmin[DataSubjectRequest]):
    list_display = (
        "subject_request_id",
        "subject_request_type",
        "status",
        "received_time",
        "finished_at",
        "requested_by",
        "attempts",
    )
    list_filter = ("status", "subject_request_type")
    search_fields = ("subject_request_id",)
    ordering = ("-received_time", "-pk")
    inlines = [CallbackInline]
    labels = {"status_reason": "reason", "requested_by": "requested by (token's user)"}
    fields = readonly_fields = (
        "subject_request_id",
        "subject_request_type",
        "regulation",
        "status",
        "status_reason",
        "submitted_time",
        "received_time",
        "expected_completion_time",
        "started_at",
        "finished_at",
        "requested_by",
        "attempts",
        "next_attempt_at",
        "per_connection",
    )

    @admin.display(description="per connection")
    def per_connection(self, request: DataSubjectRequest) -> Any:
        return pretty_json(summary(request))
