"""Everyone who reads the audit admin reads connectivity checks."""

from __future__ import annotations

from typing import Any

from django.db import migrations

from connections.roles import AUDITOR, MARKETER, OPS, grant

VIEW = ["view_connectivitycheck", "view_connectivitystep"]


def grant_check_roles(apps: Any, schema_editor: Any) -> None:
    for role in (MARKETER, AUDITOR, OPS):
        grant(apps, role, VIEW, "connections")


class Migration(migrations.Migration):
    dependencies = [("connections", "0009_connectivity_checks")]
    operations = [migrations.RunPython(grant_check_roles, migrations.RunPython.noop)]
