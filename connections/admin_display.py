"""How the audit admin shows values: JSON as indented JSON, times with seconds and zone."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

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
