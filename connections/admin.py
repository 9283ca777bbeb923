"""Audit screens. Configuration is changed on the marketer pages, where the rules run."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.text import capfirst
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import ModelChange
from simple_history.template_utils import HistoricalRecordContextHelper

from connections.admin_display import LabelledAdmin, ReadOnlyMixin, pretty_json
from connections.models import BrazeOutput, Connection

_ModelT = TypeVar("_ModelT", bound=models.Model)


# simple_history ships no type hints (its modules are Any to mypy), so its classes are Any bases.
class WordsHistoryHelper(HistoricalRecordContextHelper):  # type: ignore[misc]
    """Names changed fields by the admin's labels in a history's list of changes."""

    def __init__(self, model: Any, record: Any, *, labels: dict[str, str]) -> None:
        # Room for a changed setting's value: a mapping of subscription group ids, say.
        super().__init__(model, record, max_displayed_delta_change_chars=300)
        self.labels = labels

    def format_delta_change(self, change: ModelChange) -> ModelChange:
        if isinstance(change.old, dict) and isinstance(change.new, dict):
            # A JSON field (the forwarding settings): only the keys that changed, by name.
            old, new = _changed_keys(change.old, change.new), _changed_keys(change.new, change.old)
            change = replace(change, old=old, new=new)
        formatted = super().format_delta_change(change)
        label = self.labels.get(change.field)
        return replace(formatted, field=capfirst(label)) if label else formatted


def _changed_keys(values: dict[str, Any], other: dict[str, Any]) -> str:
    """``key: value`` (JSON) for each key of ``values`` whose value differs in ``other``."""
    keys = [*values, *(key for key in other if key not in values)]
    changed = [key for key in keys if values.get(key) != other.get(key)]
    return "; ".join(f"{key}: {json.dumps(values.get(key))}" for key in changed)


class ReadOnlyAdmin(ReadOnlyMixin, LabelledAdmin[_ModelT], SimpleHistoryAdmin):  # type: ignore[misc]
    """Configuration history; changes happen on the marketer pages, where the rules run."""

    # simple_history heads its columns with attribute names; this copy of its list heads them
    # with the labels (``history_columns``); the page around it links the stylesheet the list's
    # inline style moved to (the Content-Security-Policy allows no style attribute).
    object_history_list_template = "admin/history_list_in_words.html"
    object_history_template = "admin/object_history_in_words.html"

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:  # simple_history filters by the raw segment: "[" would raise in the query
            self.model._meta.pk.to_python(object_id)
        except ValidationError:
            raise Http404("No such object.") from None
        columns = [(name, self._label(name)) for name in self.history_list_display]
        context = {"history_columns": columns, **(extra_context or {})}
        return super().history_view(request, object_id, extra_context=context)

    def _label(self, name: str) -> str:
        return self.labels.get(name) or str(label_for_field(name, self.model, self))

    def get_historical_record_context_helper(
        self, request: HttpRequest, historical_record: Any
    ) -> HistoricalRecordContextHelper:
        return WordsHistoryHelper(self.model, historical_record, labels=self.labels)


TIMES = {"created_at": "created", "updated_at": "last changed"}


class BrazeOutputInline(admin.TabularInline[BrazeOutput, Connection]):
    model = BrazeOutput
    fields = ("platform", "braze_instance", "api_key", "external_identity_type")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="API key")
    def api_key(self, output: BrazeOutput) -> str:
        return output.api_key_masked


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin[Connection]):
    list_display = ("name", "status", "ingest_enabled", "paused_reason", "updated_at")
    list_filter = ("enabled", "ingest_enabled")
    search_fields = ("name", "slug", "inbound_key")
    exclude = ("inbound_secret_hash",)
    inlines = [BrazeOutputInline]
    labels = {
        **TIMES,
        "ingest_enabled": "accepts inbound batches",
        "paused_reason": "why paused",
        "paused_at": "paused since",
    }

    @admin.display(description="status")
    def status(self, connection: Connection) -> str:
        return connection.status.label


@admin.register(BrazeOutput)
class BrazeOutputAdmin(ReadOnlyAdmin[BrazeOutput]):
    list_display = ("connection", "platform", "braze_instance", "rest_host", "api_key_masked")
    list_filter = ("platform", "braze_instance")
    search_fields = ("connection__name",)
    exclude = ("api_key_encrypted", "api_key_fingerprint", "settings")
    readonly_fields = ("api_key_masked", "api_key_changed_at", "rest_host", "forwarding_settings")
    history_list_display = ("api_key_masked", "braze_instance", "custom_rest_endpoint")
    labels = {
        **TIMES,
        "api_key_masked": "API key",
        "api_key_changed_at": "API key changed",
        "rest_host": "REST host",
        "custom_sdk_endpoint": "custom SDK endpoint",
        "custom_rest_endpoint": "custom REST endpoint",
        "custom_js_endpoint": "custom JavaScript endpoint",
    }

    @admin.display(description="forwarding settings")
    def forwarding_settings(self, output: BrazeOutput) -> str:
        return pretty_json(output.settings)


# The delivery, connectivity and audit screens live beside their models; importing them
# registers them.
import connections.api.admin  # noqa: E402
import connections.audit.admin  # noqa: E402
import connections.connectivity.admin  # noqa: E402
import connections.delivery.admin  # noqa: E402
import connections.dsr.admin  # noqa: E402
import connections.hooks.admin  # noqa: E402
import connections.profiles.admin  # noqa: E402, F401
