"""What a connection is: its inbound credentials, state and one Braze output per platform."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import models
from django.db.models import Case, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from connections.crypto import encryption
from connections.rules import instances
from mapping.output_settings import (
    EMAIL_IDENTITY_CHOICES,
    EXTERNAL_IDENTITY_CHOICES,
    EmailIdentityType,
    ExternalIdentityType,
    OutputSettings,
)

WEB_KEY_PREFIX = "mpw_"


def new_web_key() -> str:
    """A web key: public by design (it travels in every page of the site), so only unguessable
    enough that one connection's key never finds another's."""
    return WEB_KEY_PREFIX + secrets.token_hex(16)


class Connection(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        DISABLED = "disabled", "Disabled"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True, help_text="Disabled connections forward nothing.")
    paused_reason = models.TextField(
        blank=True, help_text="Why forwarding is paused (set by mpbraze, e.g. after a 401)."
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    ingest_enabled = models.BooleanField(
        default=True,
        help_text="Off refuses inbound batches. Paused or disabled connections still accept them.",
    )
    inbound_key = models.CharField(max_length=40, unique=True, editable=False)
    inbound_secret_hash = models.CharField(max_length=100, editable=False)
    # After a rotation with an overlap the secret it replaced keeps working until the expiry,
    # so senders can be switched over without dropping traffic.
    previous_secret_hash = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The mParticle Web SDK's key: it finds this connection on the SDK's own endpoints (identity,
    # uploads, kit configuration). Distinct from the inbound key and secret, rotatable.
    web_key = models.CharField(max_length=40, unique=True, default=new_web_key, editable=False)
    redact_live_events = models.BooleanField(
        "redact live events",
        default=False,
        help_text="Live events show user identities and attributes as •••• to everyone but Ops.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        excluded_fields=[
            "inbound_secret_hash",
            "previous_secret_hash",
            "previous_secret_expires_at",
        ]
    )

    class Meta:
        ordering = ["name"]
        permissions = [
            ("test_connection", "Can run connectivity tests"),
            ("preview_mapping", "Can preview the mapping of a batch"),
            ("retry_connection", "Can send objects waiting for a retry now"),
            ("view_live_events", "Can see live events and their payloads"),
            ("view_unredacted_live_events", "Can see live events' identities unredacted"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("connection_detail", args=[self.pk])

    @property
    def previous_secret_valid_until(self) -> datetime | None:
        """When the secret replaced by the last rotation stops working; None once it has."""
        expires = self.previous_secret_expires_at
        if not self.previous_secret_hash or expires is None or expires <= timezone.now():
            return None
        return expires

    @property
    def status(self) -> Connection.Status:
        if not self.enabled:
            return self.Status.DISABLED
        if self.paused_reason:
            return self.Status.PAUSED
        return self.Status.ACTIVE


class Platform(models.TextChoices):
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"
    WEB = "web", "Web"
    SERVER = "server", "Server"


APP_PLATFORMS = (Platform.IOS, Platform.ANDROID, Platform.WEB)


def platform_order() -> Case:
    """iOS, Android, Web, Server: the order outputs are listed in on every page and answer
    (``order_by(platform_order())``; the field's own order is alphabetical)."""
    whens = [When(platform=p, then=Value(n)) for n, p in enumerate(Platform.values)]
    return Case(*whens, default=Value(len(whens)), output_field=models.IntegerField())


class DeliveryMode(models.TextChoices):
    """Who sends to Braze what an app's SDK uploads to mpbraze's own endpoints."""

    KIT = "kit", "Kit: the SDK's Braze kit sends; mpbraze stores uploads, forwards none"
    SERVER_SIDE = "server_side", "Server-side: mpbraze forwards the SDK's uploads"


class BrazeOutput(models.Model):
    """The Braze configuration of one platform of a connection."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="outputs")
    platform = models.CharField(max_length=10, choices=Platform.choices)
    api_key_encrypted = models.TextField(editable=False)
    api_key_masked = models.CharField(
        max_length=8, editable=False, help_text="The key as shown everywhere: •••• + last 4."
    )
    api_key_fingerprint = models.CharField(max_length=32, editable=False)
    api_key_changed_at = models.DateTimeField(null=True, editable=False)
    external_identity_type = models.CharField(
        max_length=20,
        choices=EXTERNAL_IDENTITY_CHOICES,
        default=ExternalIdentityType.CUSTOMER_ID.value,
    )
    email_identity_type = models.CharField(
        max_length=20,
        choices=EMAIL_IDENTITY_CHOICES,
        default=EmailIdentityType.EMAIL.value,
    )
    braze_instance = models.CharField(
        max_length=10, choices=instances.CHOICES, default=instances.DEFAULT_INSTANCE
    )
    custom_sdk_endpoint = models.CharField(max_length=253, blank=True)
    custom_rest_endpoint = models.CharField(max_length=253, blank=True)
    custom_js_endpoint = models.CharField(max_length=253, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    # Web only: the sites (``https://shop.example``) whose pages may call the SDK's endpoints
    # with this connection's web key. None: every browser request is refused.
    allowed_origins = models.JSONField(default=list, blank=True)
    # App outputs only; batches posted to the Events API are forwarded whatever it says.
    delivery_mode = models.CharField(
        max_length=12, choices=DeliveryMode.choices, default=DeliveryMode.KIT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The key never enters history; its masked form and change time record that it changed.
    history = HistoricalRecords(excluded_fields=["api_key_encrypted", "api_key_fingerprint"])

    class Meta:
        ordering = ["connection", "platform"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "platform"], name="one_output_per_platform"
            ),
            models.UniqueConstraint(
                fields=["connection", "api_key_fingerprint"], name="keys_differ_per_platform"
            ),
            models.CheckConstraint(
                condition=Q(platform__in=Platform.values), name="output_platform_known"
            ),
            models.CheckConstraint(
                condition=~Q(braze_instance=instances.CUSTOM) | ~Q(custom_rest_endpoint=""),
                name="custom_instance_has_rest_endpoint",
            ),
            models.CheckConstraint(
                condition=Q(braze_instance=instances.CUSTOM)
                | Q(custom_rest_endpoint="", custom_sdk_endpoint="", custom_js_endpoint=""),
                name="named_instance_has_no_custom_endpoints",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connection} · {self.get_platform_display()}"

    @property
    def forwarding(self) -> OutputSettings:
        return OutputSettings.model_validate(self.settings)

    @property
    def catalog_instance(self) -> instances.BrazeInstance | None:
        return instances.get(self.braze_instance)

    @property
    def rest_host(self) -> str:
        named = self.catalog_instance
        return named.rest_host if named else self.custom_rest_endpoint

    @property
    def sdk_host(self) -> str:
        named = self.catalog_instance
        return named.sdk_host if named else self.custom_sdk_endpoint

    @property
    def js_host(self) -> str:
        named = self.catalog_instance
        return named.js_host if named else self.custom_js_endpoint

    def set_api_key(self, plaintext: str) -> None:
        self.api_key_encrypted = encryption.encrypt(plaintext)
        self.api_key_masked = encryption.mask(plaintext[-4:])
        self.api_key_fingerprint = encryption.fingerprint(plaintext)
        self.api_key_changed_at = timezone.now()


# Delivery models live in their own module; importing them here registers them with the app.
from connections.api.models import ApiToken  # noqa: E402
from connections.audit.models import FailedSend, FailureGroup, ReplayRun  # noqa: E402
from connections.connectivity.models import ConnectivityCheck, ConnectivityStep  # noqa: E402
from connections.delivery.models import (  # noqa: E402
    Delivery,
    DeliveryAttempt,
    ForwardSchedule,
    InboundBatch,
)
from connections.dsr.models import DataSubjectCallback, DataSubjectRequest  # noqa: E402
from connections.hooks.models import (  # noqa: E402
    HookAttempt,
    HookDelivery,
    HookEvent,
    HookFailureCount,
    HookSubscription,
)
from connections.identity.models import IdentityRecord  # noqa: E402
from connections.merging.models import AnonymousProfile  # noqa: E402
from connections.probes.models import WorkerHeartbeat  # noqa: E402
from connections.profiles.models import UserProfile  # noqa: E402

__all__ = [
    "APP_PLATFORMS",
    "AnonymousProfile",
    "ApiToken",
    "BrazeOutput",
    "Connection",
    "ConnectivityCheck",
    "ConnectivityStep",
    "DataSubjectCallback",
    "DataSubjectRequest",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryMode",
    "FailedSend",
    "FailureGroup",
    "ForwardSchedule",
    "HookAttempt",
    "HookDelivery",
    "HookEvent",
    "HookFailureCount",
    "HookSubscription",
    "IdentityRecord",
    "InboundBatch",
    "Platform",
    "ReplayRun",
    "UserProfile",
    "WorkerHeartbeat",
    "platform_order",
]
