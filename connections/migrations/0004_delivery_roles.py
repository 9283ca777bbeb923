from __future__ import annotations

from django.db import migrations

from connections.roles import AUDITOR, OPS, grant

READ = ["view_inboundbatch", "view_delivery", "view_deliveryattempt"]


def grant_delivery_roles(apps, schema_editor):
    grant(apps, AUDITOR, READ, "connections")
    grant(apps, OPS, READ + ["replay_delivery"], "connections")


class Migration(migrations.Migration):
    dependencies = [("connections", "0003_delivery")]

    operations = [migrations.RunPython(grant_delivery_roles, migrations.RunPython.noop)]
