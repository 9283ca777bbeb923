"""How the audit admin shows values (JSON as indented JSON, times with seconds and zone,
fields labelled in words) and filters by related rows (ids bounded)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_field, display_for_value
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from connections.ids import is_id

EMPTY = "—"


def pretty_json(value: Any) -> SafeString | str:
    """A JSON value, indented, in a ``<pre>`` block (never a Python repr)."""
    if value in (None, "", [], {}):
        return EMPTY
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)
    return format_html('<pre class="json">{}</pre>', text)


def when(moment: datetime | None) -> str:
    """``2026-12-02 11:21:11 UTC``: seconds and the zone, in the site's time zone."""
    if moment is None:
        return EMPTY
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


def code(text: str) -> SafeString | str:
    """A short machine value (a field path, an example) in a ``<code>`` element."""
    return format_html("<code>{}</code>", text) if text else EMPTY


def field_column(model: type[models.Model], name: str, label: str) -> Callable[[Any], str]:
    """A changelist column showing ``name`` (a field or attribute) as the admin would, headed
    ``label``: choices by their label, booleans as icons, times in the site's format."""
    try:
        field: Any = model._meta.get_field(name)
    except FieldDoesNotExist:
        field = None

    @admin.display(description=label, ordering=name if field else None)
    def column(obj: Any) -> str:
        value = getattr(obj, name)
        return display_for_field(value, field, EMPTY) if field else display_for_value(value, EMPTY)

    column.__name__ = name
    return column


class LabelledAdmin(admin.ModelAdmin):
    """A model admin whose ``labels`` name fields in words where their verbose names do not
    (a verbose name is part of the model and changing it needs a migration).

    The labels head the change form's rows, the changelist's columns and its filters.
    """

    labels: ClassVar[dict[str, str]] = {}
    empty_value_display = EMPTY

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs.setdefault("labels", self.labels)
        return super().get_form(request, obj, change, **kwargs)

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        return [self._column(name) for name in super().get_list_display(request)]

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist = super().get_changelist_instance(request)
        for spec in changelist.filter_specs:
            spec.title = self.labels.get(getattr(spec, "field_path", ""), spec.title)
        return changelist

    def _column(self, name: Any) -> Any:
        if isinstance(name, str) and name in self.labels:
            return field_column(self.model, name, self.labels[name])
        return name


def _keyed_by_id(field: Any) -> bool:
    target = getattr(field, "target_field", None) if field.remote_field else None
    return isinstance(target, models.IntegerField)


class RelatedIdFilter(admin.RelatedFieldListFilter):
    """Django's filter by a related row, for keys that are ids: a value that cannot be an id
    (``?connection__id__exact=99999999999999999999``) is named and selects nothing. SQLite's
    driver would raise on a number beyond 64 bits (a 500); PostgreSQL finds no row."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        given = self.used_parameters.get(self.lookup_kwarg)  # a list of strings since Django 5
        values = [str(value) for value in given] if isinstance(given, list) else []
        if all(is_id(value) for value in values):
            return super().queryset(request, queryset) or queryset
        shown = values[0][:40]
        messages.error(request, f"Filter “{self.title}”: {shown!r} is not an id.")
        return queryset.none()


admin.FieldListFilter.register(_keyed_by_id, RelatedIdFilter, take_priority=True)
