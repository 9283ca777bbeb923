from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now" under a minute, else Django's "3 minutes ago" (never "0 minutes ago")."""
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment)} ago"


@register.simple_tag
def failed_sends_url(
    connection_id: int, since: datetime | None = None, group: int | None = None
) -> str:
    """The audit admin's failed-sends list for one connection (failed since ``since``, or of
    one failure group): where a failed count or a group on the marketer pages leads."""
    params: dict[str, Any] = {"connection": connection_id}
    if since is not None:
        params["failed_since"] = since.isoformat()
    if group is not None:
        params["group"] = group
    return reverse("admin:connections_failedsend_changelist") + "?" + urlencode(params)


@register.simple_tag
def mapping_issues_url(connection_id: int) -> str:
    """The audit admin's mapping issues of one connection, the newest first."""
    params = {"connection__id__exact": connection_id}
    return reverse("admin:mapping_mappingissue_changelist") + "?" + urlencode(params)
