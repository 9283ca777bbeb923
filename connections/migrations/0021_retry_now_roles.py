from __future__ import annotations

from django.db import migrations

from connections.roles import MARKETER, OPS, grant


def grant_retry_now(apps, schema_editor):
    for role in (MARKETER, OPS):
        grant(apps, role, ["retry_connection"], "connections")


class Migration(migrations.Migration):
    dependencies = [
        ("connections", "0020_delivery_glance_indexes"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="connection",
            options={
                "ordering": ["name"],
                "permissions": [
                    ("test_connection", "Can run connectivity tests"),
                    ("preview_mapping", "Can preview the mapping of a batch"),
                    ("retry_connection", "Can send objects waiting for a retry now"),
                ],
            },
        ),
        migrations.RunPython(grant_retry_now, migrations.RunPython.noop),
    ]
