"""The three roles and what each may do. Migrations call ``grant``.

The roles as users read them: docs/security.md "Roles and access".
"""

from __future__ import annotations

from typing import Any

MARKETER = "Marketer"
AUDITOR = "Auditor"
OPS = "Ops"


def grant(apps: Any, role: str, codenames: list[str], app_label: str) -> None:
    """Create the group when missing and add the permissions (creating them if needed)."""
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config(app_label)
    # Permissions are normally created after all migrations; a data migration must ask.
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.get_or_create(name=role)
    permissions = permission_model.objects.filter(
        content_type__app_label=app_label, codename__in=codenames
    )
    missing = set(codenames) - set(permissions.values_list("codename", flat=True))
    if missing:
        raise RuntimeError(f"permissions not found for {role}: {sorted(missing)}")
    group.permissions.add(*permissions)
