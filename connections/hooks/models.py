"""REST hooks (resthooks.org): subscriptions, the events recorded for them, one delivery per
(event, subscription) and every HTTP attempt of it; per-minute failure counts to aggregate."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from connections.crypto import encryption
from connections.hooks.events import CHOICES
from connections.models import Connection


class HookSubscription(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hook_subscriptions"
    )
    target_url = models.CharField("target URL", max_length=2000)
    events = models.JSONField(default=list, help_text="The event names it receives.")
    description = models.CharField(max_length=200, blank=True)
    secret_encrypted = models.TextField(editable=False)
    active = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True, help_text="Why mpbraze stopped sending to it.")
    created_at = models.DateTimeField(auto_now_add=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="Deliveries have failed without a success since then."
    )

    class Meta:
        verbose_name = "REST hook"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner"], name="hook_sub_owner"),
            models.Index(fields=["active"], name="hook_sub_active", condition=Q(active=True)),
        ]

    def __str__(self) -> str:
        return f"{self.target_url} ({', '.join(self.events)})"

    @property
    def secret(self) -> str:
        """The plain signing secret: only for signing."""
        return encryption.decrypt(self.secret_encrypted)


class HookEvent(models.Model):
    """One event, recorded when at least one subscription wanted it; ``body`` is the exact
    JSON text sent and signed."""

    event_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=40, choices=CHOICES)
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="hook_events"
    )
    body = models.TextField()
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "REST hook event"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


class HookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed (retries exhausted)"
        CANCELLED = "cancelled", "Cancelled (hook disabled)"

    event = models.ForeignKey(HookEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        HookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "REST hook delivery"
        verbose_name_plural = "REST hook deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscription"], name="hook_delivery_once_per_subscription"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="hook_delivery_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["subscription", "-created_at"], name="hook_delivery_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.subscription.target_url}"


class HookAttempt(models.Model):
    """One POST, recorded before it is made and completed with what came back."""

    delivery = models.ForeignKey(
        HookDelivery, on_delete=models.CASCADE, related_name="attempt_records"
    )
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response_body = models.TextField(blank=True, help_text="The first kilobyte of the answer.")

    class Meta:
        verbose_name = "REST hook attempt"
        ordering = ["delivery", "at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"


class HookFailureCount(models.Model):
    """Failed rows of a connection in one minute, per failure kind: the outbox counts them in
    the transaction that fails them; the hooks sweep turns closed minutes into one event."""

    event = models.CharField(max_length=40, choices=CHOICES)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    kind = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "connection", "minute", "kind"], name="hook_failure_count_once"
            )
        ]
        indexes = [models.Index(fields=["minute"], name="hook_failure_minute")]

    def __str__(self) -> str:
        return f"{self.event} {self.connection_id} {self.minute:%H:%M}: {self.count}"
