"""System checks of the connections app's settings (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning

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
