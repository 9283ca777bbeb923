"""A connectivity check of one output and its steps, kept for the pages, the admin and ops."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from connections.models import BrazeOutput, Connection

NOT_PROBED = "not_probed"
VERDICT_RANKS = {NOT_PROBED: 0, "passed": 1, "pending": 2, "failed": 3}


class ConnectivityCheck(models.Model):
    """One run of DNS → TCP → TLS → HTTP against an output's Braze endpoint."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="checks")
    output = models.ForeignKey(BrazeOutput, on_delete=models.CASCADE, related_name="checks")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    summary = models.TextField(blank=True, help_text="The sentence a marketer reads first.")

    class Meta:
        indexes = [models.Index(fields=["output", "-started_at"], name="check_output_latest")]

    def __str__(self) -> str:
        return f"Check #{self.pk} of {self.output} ({self.get_outcome_display()})"

    @property
    def verdict(self) -> str:
        """The outcome as pages show it: a check that passed without probing anything (every
        step skipped, e.g. an app output without an SDK endpoint) proves nothing, so it reads
        ``not_probed``, never ``passed``. Prefetch ``steps`` when reading many checks."""
        steps = list(self.steps.all()) if self.outcome == self.Outcome.PASSED else []
        if steps and all(step.outcome == ConnectivityStep.Outcome.SKIPPED for step in steps):
            return NOT_PROBED
        return str(self.outcome)

    @property
    def verdict_label(self) -> str:
        return "Not probed" if self.verdict == NOT_PROBED else self.get_outcome_display()

    @property
    def verdict_rank(self) -> int:
        """Worse verdicts rank higher: failed, running, passed, not probed."""
        return VERDICT_RANKS.get(self.verdict, 0)


class ConnectivityStep(models.Model):
    """One step of a check, in order, with its latency and a plain-language message."""

    class Name(models.TextChoices):
        DNS = "dns", "DNS"
        TCP = "tcp", "TCP"
        TLS = "tls", "TLS"
        HTTP = "http", "HTTP"

    class Outcome(models.TextChoices):
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    connectivity_check = models.ForeignKey(
        ConnectivityCheck, on_delete=models.CASCADE, related_name="steps"
    )
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=4, choices=Name.choices)
    outcome = models.CharField(max_length=7, choices=Outcome.choices)
    latency_ms = models.PositiveIntegerField(default=0)
    message = models.TextField()

    class Meta:
        ordering = ["connectivity_check", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["connectivity_check", "position"], name="step_once_per_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_name_display()}: {self.get_outcome_display()}"
