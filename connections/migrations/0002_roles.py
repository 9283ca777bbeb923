from __future__ import annotations

from django.db import migrations

from connections.roles import AUDITOR, MARKETER, OPS, grant

READ = [
    "view_connection",
    "view_brazeoutput",
    "view_historicalconnection",
    "view_historicalbrazeoutput",
]
CONFIGURE = [
    "add_connection",
    "change_connection",
    "delete_connection",
    "add_brazeoutput",
    "change_brazeoutput",
    "delete_brazeoutput",
    "test_connection",
    "preview_mapping",
]


def create_roles(apps, schema_editor):
    grant(apps, MARKETER, READ + CONFIGURE, "connections")
    grant(apps, AUDITOR, READ, "connections")
    grant(apps, OPS, READ + ["test_connection"], "connections")


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[MARKETER, AUDITOR, OPS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("connections", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
