"""User profiles for auditors and ops: read-only (they change only with the batches that carry
them, and erasure removes them); searched by external identity or MPID."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from connections.admin_display import ReadOnlyMixin, pretty_json, when
from connections.profiles.models import UserProfile
from mapping.profile import MPID_MAX, MPID_MIN


@admin.register(UserProfile)
class UserProfileAdmin(ReadOnlyMixin, admin.ModelAdmin[UserProfile]):
    list_display = ("pk", "connection", "mpid", "external_id", "attribute_count", "updated")
    list_filter = ("connection",)
    search_fields = ("external_id",)
    search_help_text = "An external identity, or an MPID (digits)."
    list_select_related = ("connection",)
    fields = readonly_fields = (
        "connection",
        "mpid",
        "external_id",
        "updated",
        "last_batch_id",
        "attributes_as_kept",
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[UserProfile], search_term: str
    ) -> tuple[QuerySet[UserProfile], bool]:
        term = search_term.strip()
        digits = term.removeprefix("-")
        if digits.isascii() and digits.isdigit() and MPID_MIN <= int(term) <= MPID_MAX:
            found = queryset.filter(mpid=int(term)) | queryset.filter(external_id=term)
            return found, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="Attributes")
    def attribute_count(self, row: UserProfile) -> int:
        return len(row.attributes)

    @admin.display(description="Updated at", ordering="updated_at")
    def updated(self, row: UserProfile) -> str:
        return when(row.updated_at)

    @admin.display(description="Attributes as kept (Braze names)")
    def attributes_as_kept(self, row: UserProfile) -> Any:
        return pretty_json(row.attributes)
