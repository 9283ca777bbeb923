from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = "Connections"

    def ready(self) -> None:
        from connections.checks import local_endpoints_check

        checks.register(local_endpoints_check, checks.Tags.security, deploy=True)
