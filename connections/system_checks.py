"""System checks of the connections app's settings (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.db import DatabaseError

from connections.hooks.models import HookSubscription

LOCAL_ENDPOINTS_IN_PRODUCTION = "connections.W001"


def local_endpoints_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when loopback endpoints are allowed outside development: a marketer could then
    point an output or a hook at a service on the server's own loopback interface."""
    if not settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS or settings.DEBUG:
        return []
    return [
        Warning(
            "MPBRAZE_ALLOW_LOCAL_ENDPOINTS is on while DEBUG is off: Braze endpoints and REST "
            "hook targets may point at loopback addresses (127.0.0.1:<port>) of this server.",
            hint="Set MPBRAZE_ALLOW_LOCAL_ENDPOINTS=0 in production; it exists for a local "
            "fake Braze. Allow a proxy by name with MPBRAZE_ALLOWED_ENDPOINT_HOSTS instead.",
            id=LOCAL_ENDPOINTS_IN_PRODUCTION,
        )
    ]


PUBLIC_URL_MISSING = "connections.E001"
PUBLIC_URL_INVALID = "connections.E002"


def public_url_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """REST hook payloads carry absolute links: ``MPBRAZE_PUBLIC_URL`` must be an absolute
    http(s) URL, and set once hooks exist in production."""
    value = settings.MPBRAZE_PUBLIC_URL
    if value:
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.hostname and not parts.query:
            return []
        return [
            Error(
                f"MPBRAZE_PUBLIC_URL is not an absolute http(s) URL: {value[:100]!r}.",
                hint="Set it to the address people reach this site at, such as "
                "https://mpbraze.example.com.",
                id=PUBLIC_URL_INVALID,
            )
        ]
    if settings.DEBUG or not _hooks_exist():
        return []
    return [
        Error(
            "MPBRAZE_PUBLIC_URL must be set when REST hooks exist and DEBUG is off: the links "
            "in hook payloads are absolute URLs built from it.",
            hint="Set MPBRAZE_PUBLIC_URL to the address people reach this site at, such as "
            "https://mpbraze.example.com.",
            id=PUBLIC_URL_MISSING,
        )
    ]


def _hooks_exist() -> bool:
    try:
        return HookSubscription.objects.exists()
    except DatabaseError:  # not migrated yet, or no database: nothing to link from
        return False
