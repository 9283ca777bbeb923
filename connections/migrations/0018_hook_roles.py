from __future__ import annotations

from django.db import migrations

from connections.roles import OPS, grant


def grant_hook_roles(apps, schema_editor):
    grant(
        apps,
        OPS,
        [
            f"{action}_{model}"
            for model in ("hooksubscription", "hookdelivery", "hookevent", "hookattempt")
            for action in ("add", "view", "change", "delete")
        ],
        "connections",
    )


class Migration(migrations.Migration):
    dependencies = [("connections", "0017_hooks")]
    operations = [migrations.RunPython(grant_hook_roles, migrations.RunPython.noop)]
