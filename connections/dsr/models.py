"""Data subject requests (OpenDSR erasure): the request as received, its progress per
connection, and the signed status callbacks owed to the controller (docs/erasure.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class DataSubjectRequest(models.Model):
    """One OpenDSR request. ``identities`` and ``keys`` name the subject only until the
    request ends: then they are replaced by counts, so the audit trail does not keep what it
    erased."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    subject_request_id = models.UUIDField(unique=True)
    subject_request_type = models.CharField(max_length=20, default="erasure")
    regulation = models.CharField(max_length=10, blank=True)
    api_version = models.CharField(max_length=10, default="3.0")
    submitted_time = models.DateTimeField()
    received_time = models.DateTimeField(auto_now_add=True)
    expected_completion_time = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body_digest = models.CharField(
        max_length=64, help_text="SHA-256 of the request as received: a repeat must match it."
    )
    identities = models.JSONField(
        default=list, help_text="The subject's identities as given; forgotten when it ends."
    )
    keys = models.JSONField(
        default=dict,
        help_text="MPIDs and identities the forwarder must not send for while it runs.",
    )
    callback_urls = models.JSONField(default=list)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField(blank=True)
    results = models.JSONField(
        default=dict, help_text="Per connection: what Braze was asked to delete and what went."
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "data subject request"
        ordering = ["-received_time"]
        indexes = [
            # The forwarder's guard and the sweep read only the requests still running.
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=Q(status__in=["pending", "in_progress"]),
                name="dsr_running",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject_request_type} {self.subject_request_id} ({self.status})"

    @property
    def running(self) -> bool:
        return self.status in RUNNING


RUNNING = (DataSubjectRequest.Status.PENDING, DataSubjectRequest.Status.IN_PROGRESS)
FINAL = (
    DataSubjectRequest.Status.COMPLETED,
    DataSubjectRequest.Status.FAILED,
    DataSubjectRequest.Status.CANCELLED,
)


class DataSubjectCallback(models.Model):
    """One status change owed to one callback URL, recorded before it is POSTed."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up"

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="callbacks"
    )
    url = models.CharField(max_length=2000)
    request_status = models.CharField(max_length=12)
    event_id = models.CharField(max_length=40, unique=True)
    body = models.TextField(help_text="The JSON text sent and signed, byte for byte.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "status callback"
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="dsr_callback_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_status} → {self.url[:60]}"
