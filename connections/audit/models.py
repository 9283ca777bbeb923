"""What auditors read beside the outbox: failures grouped by kind, and every replay or discard.

A failed row (dead or rejected) points at its ``FailureGroup``; a replayed or discarded row
points at the last ``ReplayRun`` that acted on it. Rows are never deleted while they are
failed, so "what did not reach Braze, why, and was it fixed?" is always answerable.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from connections.delivery.models import Delivery
from connections.models import BrazeOutput, Connection


class FailureGroup(models.Model):
    """One kind of failure of one connection ("issues", as Hookdeck has them)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        REOPENED = "reopened", "Reopened"

    class Kind(models.TextChoices):
        DEAD = "dead", "Retries exhausted"
        REJECTED = "rejected", "Rejected by Braze"

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="failure_groups"
    )
    output = models.ForeignKey(BrazeOutput, on_delete=models.CASCADE, related_name="failure_groups")
    key = models.CharField(max_length=200, help_text="What failures of this kind share.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status_class = models.CharField(
        "HTTP status", max_length=20, blank=True, help_text="e.g. 5xx, 400, timeout."
    )
    braze_error = models.CharField("Braze error type", max_length=200, blank=True)
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    count = models.PositiveBigIntegerField("rows failed", default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)
    sample_delivery_id = models.BigIntegerField("sample row", null=True, blank=True)
    sample_user = models.CharField("sample user", max_length=200, blank=True)
    sample_message = models.TextField("sample message", blank=True)

    class Meta:
        verbose_name = "failure group"
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "key"], name="failure_group_once"),
        ]
        indexes = [models.Index(fields=["connection", "last_seen"], name="failure_group_recent")]

    def __str__(self) -> str:
        return f"{self.connection}: {self.title}"


class ReplayRun(models.Model):
    """One replay or discard of failed rows: who asked, what it matched, what it did."""

    class Action(models.TextChoices):
        REPLAY = "replay", "Replay"
        DISCARD = "discard", "Discard"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    action = models.CharField(max_length=10, choices=Action.choices, default=Action.REPLAY)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="replay_runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    requested_via = models.CharField(max_length=20, help_text="admin, api or command")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    selection = models.JSONField(
        default=dict, help_text="The filter or the row ids it was asked to act on."
    )
    force = models.BooleanField(
        default=False, help_text="Resend rows Braze already accepted as well."
    )
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    outcome = models.TextField(blank=True)
    matched = models.PositiveIntegerField("rows matched", default=0)
    users = models.PositiveIntegerField("users", default=0)
    acted = models.PositiveIntegerField("rows queued or discarded", default=0)
    skipped_accepted = models.PositiveIntegerField("skipped: accepted by Braze", default=0)
    skipped_pending = models.PositiveIntegerField("skipped: already queued", default=0)
    skipped_superseded = models.PositiveIntegerField(
        "skipped: newer attributes accepted", default=0
    )

    class Meta:
        verbose_name = "replay or discard"
        verbose_name_plural = "replays and discards"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} #{self.pk} of {self.connection}"


class FailedSend(Delivery):
    """The outbox rows that failed (dead or rejected, then maybe replayed or discarded): the
    auditors' own admin entry over the same table."""

    class Meta:
        proxy = True
        verbose_name = "failed send"
