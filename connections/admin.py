"""Audit screens. Configuration is changed on the marketer pages, where the rules run."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from connections.models import BrazeOutput, Connection


class ReadOnlyMixin:
    """Everyone with the view permission reads; nobody edits here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    """Configuration history; changes happen on the marketer pages, where the rules run."""


class BrazeOutputInline(admin.TabularInline):
    model = BrazeOutput
    fields = ("platform", "braze_instance", "api_key_masked", "external_identity_type")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = ("name", "status", "ingest_enabled", "paused_reason", "updated_at")
    list_filter = ("enabled", "ingest_enabled")
    search_fields = ("name", "slug", "inbound_key")
    exclude = ("inbound_secret_hash",)
    inlines = [BrazeOutputInline]


@admin.register(BrazeOutput)
class BrazeOutputAdmin(ReadOnlyAdmin):
    list_display = ("connection", "platform", "braze_instance", "rest_host", "api_key_masked")
    list_filter = ("platform", "braze_instance")
    search_fields = ("connection__name",)
    exclude = ("api_key_encrypted", "api_key_fingerprint")
    readonly_fields = ("api_key_masked", "api_key_changed_at", "rest_host")
    history_list_display = ("api_key_masked", "braze_instance", "custom_rest_endpoint")


# The delivery, connectivity and audit screens live beside their models; importing them
# registers them.
import connections.audit.admin  # noqa: E402
import connections.connectivity.admin  # noqa: E402
import connections.delivery.admin  # noqa: E402, F401
