"""The admin's query-string filters, checked before Django turns them into a query.

A filter on an integer or related column whose value is no 64-bit integer would make SQLite's
driver raise before the query runs (a 500); no row could hold it on either database.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist
from django.db.models import IntegerField, Model
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

INTEGER_LOOKUPS = {"exact", "in", "gt", "gte", "lt", "lte", "iexact"}


def drop_unstorable_integer_filters(
    request: HttpRequest, model_admin: admin.ModelAdmin[Any]
) -> None:
    """Leaves out, naming it, each query-string filter on an integer or related column whose
    value is no 64-bit integer (``?connection=99999999999999999999``, ``?output__id__in=1,x``):
    SQLite's driver raises on such a number before the query runs (a 500), and no row could
    hold it on either database."""
    refused = unstorable_integer_filters(request, model_admin)
    if not refused:
        return
    kept = request.GET.copy()
    for key in refused:
        del kept[key]
        messages.error(request, f"Filter “{key}”: expected a whole number of at most 64 bits.")
    kept._mutable = False
    request.GET = kept  # type: ignore[assignment]  # the stubs type GET as never replaced


def unstorable_integer_filters(
    request: HttpRequest, model_admin: admin.ModelAdmin[Any]
) -> list[str]:
    """The query-string filters on an integer or related column whose value is no 64-bit
    integer; a list's own filters (``list_filter`` entries) check their values themselves."""
    own = {getattr(entry, "parameter_name", None) for entry in model_admin.list_filter}
    return [
        key
        for key, values in request.GET.lists()
        if key not in own and _unstorable(model_admin.model, key, values)
    ]


def _unstorable(model: type[Model], key: str, values: list[str]) -> bool:
    *path, last = key.split(LOOKUP_SEP)
    if last not in INTEGER_LOOKUPS:
        path, last = [*path, last], "exact"
    try:
        field = get_fields_from_path(model, LOOKUP_SEP.join(path))[-1]
    except (FieldDoesNotExist, NotRelationField):
        return False  # not a column: Django's own lookup checks answer for it
    column = getattr(field, "target_field", None) if field.is_relation else field
    if not isinstance(column, IntegerField):
        return False
    items = [v for value in values for v in value.split(",")] if last == "in" else values
    return not all(_fits_64_bits(item) for item in items)


def _fits_64_bits(text: str) -> bool:
    digits = text.strip().removeprefix("-")
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 19):
        return False
    return -(2**63) <= int(text) < 2**63
