from __future__ import annotations

from django.db import migrations

from connections.roles import AUDITOR, MARKETER, OPS, grant


def grant_mapping_roles(apps, schema_editor):
    for role in (MARKETER, AUDITOR, OPS):
        grant(apps, role, ["view_mappingissue"], "mapping")


class Migration(migrations.Migration):
    dependencies = [("mapping", "0001_initial"), ("connections", "0002_roles")]

    operations = [migrations.RunPython(grant_mapping_roles, migrations.RunPython.noop)]
