"""Mapping errors for auditors: aggregated counts, filters, and one sample of each."""

from __future__ import annotations

from django.contrib import admin

from connections.admin_display import LabelledAdmin, ReadOnlyMixin, code, pretty_json
from mapping.models import MappingIssue


@admin.register(MappingIssue)
class MappingIssueAdmin(ReadOnlyMixin, LabelledAdmin[MappingIssue]):
    list_display = ("kind", "field_path", "count", "action", "connection", "platform", "last_seen")
    list_filter = ("connection", "output__platform", "kind", "action", "last_seen")
    search_fields = ("field_path",)
    ordering = ("-last_seen", "-pk")  # the newest first, as on the connection page
    list_select_related = ("connection", "output")
    fields = (
        "connection",
        "output",
        "kind",
        "field_path",
        "action",
        "example",
        "count",
        "first_seen",
        "last_seen",
        "sample_source_event",
        "sent_instead",
    )
    readonly_fields = fields
    labels = {"output__platform": "platform"}

    @admin.display(description="Platform", ordering="output__platform")
    def platform(self, issue: MappingIssue) -> str:
        return issue.output.get_platform_display()

    @admin.display(description="Example value")
    def example(self, issue: MappingIssue) -> str:
        return code(issue.example_value)

    @admin.display(description="Sample source event")
    def sample_source_event(self, issue: MappingIssue) -> str:
        return pretty_json(issue.sample_event)

    @admin.display(description="What was sent instead")
    def sent_instead(self, issue: MappingIssue) -> str:
        return pretty_json(issue.sample_sent)
