"""Mapping errors for auditors: aggregated counts, filters, and one sample of each."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.utils.html import format_html

from connections.admin import ReadOnlyMixin
from mapping.models import MappingIssue


def _pretty(value: Any) -> str:
    if value in (None, "", []):
        return "—"
    return format_html("<pre class='json-sample'>{}</pre>", json.dumps(value, indent=2))


@admin.register(MappingIssue)
class MappingIssueAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("kind", "field_path", "count", "action", "connection", "platform", "last_seen")
    list_filter = ("connection", "output__platform", "kind", "action", "last_seen")
    search_fields = ("field_path",)
    ordering = ("-count",)
    list_select_related = ("connection", "output")
    fields = (
        "connection",
        "output",
        "kind",
        "field_path",
        "action",
        "example_value",
        "count",
        "first_seen",
        "last_seen",
        "sample_source_event",
        "sent_instead",
    )
    readonly_fields = fields

    @admin.display(description="Platform", ordering="output__platform")
    def platform(self, issue: MappingIssue) -> str:
        return issue.output.get_platform_display()

    @admin.display(description="Sample source event")
    def sample_source_event(self, issue: MappingIssue) -> str:
        return _pretty(issue.sample_event)

    @admin.display(description="What was sent instead")
    def sent_instead(self, issue: MappingIssue) -> str:
        return _pretty(issue.sample_sent)
