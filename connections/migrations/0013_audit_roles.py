from __future__ import annotations

from django.db import migrations

from connections.roles import AUDITOR, OPS, grant

READ = ["view_failuregroup", "view_replayrun", "view_failedsend"]


def grant_audit_roles(apps, schema_editor):
    grant(apps, AUDITOR, READ, "connections")
    grant(apps, OPS, READ + ["discard_delivery"], "connections")


class Migration(migrations.Migration):
    dependencies = [("connections", "0012_failed_send")]
    operations = [migrations.RunPython(grant_audit_roles, migrations.RunPython.noop)]
