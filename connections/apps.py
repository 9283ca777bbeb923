from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = "Connections"

    def ready(self) -> None:
        # Inside ready(): the checks read models, which exist only once the apps are loaded.
        from connections.system_checks import local_endpoints_check, public_url_check

        checks.register(local_endpoints_check, checks.Tags.security, deploy=True)
        checks.register(public_url_check, checks.Tags.compatibility)
