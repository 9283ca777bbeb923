"""MappingIssue: every piece of data that could not be sent as it was, aggregated per field."""

from __future__ import annotations

from django.db import models

from connections.models import BrazeOutput, Connection
from mapping.issues import IssueAction, IssueKind


class MappingIssue(models.Model):
    """One row per (connection, output, kind, field path), however many events hit it."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="mapping_issues"
    )
    output = models.ForeignKey(BrazeOutput, on_delete=models.CASCADE, related_name="mapping_issues")
    kind = models.CharField(
        "problem", max_length=40, choices=[(k.value, k.label) for k in IssueKind]
    )
    field_path = models.CharField("field", max_length=200)
    action = models.CharField(
        "what mpbraze did", max_length=20, choices=[(a.value, a.label) for a in IssueAction]
    )
    example_value = models.CharField(
        max_length=100, blank=True, help_text="A string as it came, any other value as JSON."
    )
    count = models.PositiveBigIntegerField("times seen", default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    sample_event = models.JSONField(null=True, blank=True, help_text="One source event.")
    sample_sent = models.JSONField(
        null=True, blank=True, help_text="What was sent instead for the sample event."
    )

    class Meta:
        ordering = ["-count"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "output", "kind", "field_path"],
                name="mapping_issue_once_per_field",
            )
        ]
        indexes = [models.Index(fields=["last_seen"], name="mapping_issue_last_seen")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.field_path}"
