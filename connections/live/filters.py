"""The live events' filters, read and checked once for the page and the API alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from django.conf import settings

from connections.live.fates import Fate
from connections.rules.field_errors import FieldError

MAX_VALUE_LENGTH: Final = 255
MAX_PLATFORM_LENGTH: Final = 40
WINDOWS: Final = {
    "15m": ("last 15 minutes", timedelta(minutes=15)),
    "1h": ("last hour", timedelta(hours=1)),
    "24h": ("last 24 hours", timedelta(hours=24)),
    "7d": ("last 7 days", timedelta(days=7)),
}
DEFAULT_WINDOW: Final = "7d"
FIELDS: Final = ("user", "event_name", "fate", "platform", "window")


@dataclass(frozen=True)
class LiveFilters:
    user: str = ""  # exact: an external id, an MPID or an email
    event_name: str = ""  # a part of the name, in any case
    fate: Fate | None = None
    platform: str = ""  # device_info.platform, in any case
    window: str = DEFAULT_WINDOW

    def since(self, now: datetime) -> datetime:
        """The window's start; never before the batches' retention, which has nothing older."""
        retention = timedelta(days=settings.MPBRAZE_BATCH_RETENTION_DAYS)
        return now - min(WINDOWS[self.window][1], retention)

    @property
    def needs_scan(self) -> bool:
        """Filters no index serves: answered by a bounded scan of batches."""
        return bool(self.event_name or self.fate or self.platform)


def live_filters_parse(params: Mapping[str, str | None]) -> LiveFilters:
    """Filters from query parameters (absent or empty: no filter); ``FieldError`` names the
    first bad one."""
    user = _text(params, "user", MAX_VALUE_LENGTH)
    event_name = _text(params, "event_name", MAX_VALUE_LENGTH)
    platform = _text(params, "platform", MAX_PLATFORM_LENGTH)
    fate_text = _text(params, "fate", 20)
    if fate_text and fate_text not in Fate.values():
        raise FieldError("fate", f"expected one of {', '.join(Fate.values())}")
    window = _text(params, "window", 10) or DEFAULT_WINDOW
    if window not in WINDOWS:
        raise FieldError("window", f"expected one of {', '.join(WINDOWS)}")
    fate = Fate(fate_text) if fate_text else None
    return LiveFilters(user, event_name, fate, platform, window)


def _text(params: Mapping[str, str | None], name: str, limit: int) -> str:
    value = (params.get(name) or "").strip()
    if len(value) > limit:
        raise FieldError(name, f"at most {limit} characters (got {len(value)})")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise FieldError(name, "control characters are not allowed")
    return value
