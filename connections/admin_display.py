"""How the audit admin shows values: JSON as indented JSON, times with seconds and zone,
fields labelled in words."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from django.contrib import admin
from django.contrib.admin.utils import display_for_field, display_for_value
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

EMPTY = "—"

_ModelT = TypeVar("_ModelT", bound=models.Model)


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


class LabelledAdmin(admin.ModelAdmin[_ModelT]):
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


class ReadOnlyMixin:
    """Everyone with the view permission reads; nobody edits here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
