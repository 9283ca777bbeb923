"""Connectivity checks in the audit admin: read-only, newest first, with their steps."""

from __future__ import annotations

from django.contrib import admin

from connections.admin_display import LabelledAdmin, ReadOnlyMixin
from connections.connectivity.models import ConnectivityCheck, ConnectivityStep


class StepInline(ReadOnlyMixin, admin.TabularInline[ConnectivityStep, ConnectivityCheck]):
    model = ConnectivityStep
    fields = readonly_fields = ("position", "step", "outcome", "latency", "message")
    extra = 0

    @admin.display(description="step")
    def step(self, step: ConnectivityStep) -> str:
        return step.get_name_display()

    @admin.display(description="latency")
    def latency(self, step: ConnectivityStep) -> str:
        return f"{step.latency_ms} ms"


@admin.register(ConnectivityCheck)
class ConnectivityCheckAdmin(ReadOnlyMixin, LabelledAdmin[ConnectivityCheck]):
    list_display = ("started_at", "connection", "output", "outcome", "duration_ms", "summary")
    list_filter = ("outcome", "output__platform", "connection")
    search_fields = ("summary", "connection__name")
    list_select_related = ("connection", "output")
    ordering = ("-started_at",)
    inlines = [StepInline]
    fields = readonly_fields = (
        "connection",
        "output",
        "started_by",
        "started_at",
        "finished_at",
        "outcome",
        "duration_ms",
        "summary",
    )
    labels = {
        "started_at": "started",
        "finished_at": "finished",
        "duration_ms": "duration (ms)",
        "output__platform": "platform",
    }
