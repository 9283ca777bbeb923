from __future__ import annotations

from django.db import migrations

from connections.roles import OPS, grant


def grant_token_roles(apps, schema_editor):
    grant(apps, OPS, ["add_apitoken", "view_apitoken"], "connections")


class Migration(migrations.Migration):
    dependencies = [("connections", "0015_api_tokens")]
    operations = [migrations.RunPython(grant_token_roles, migrations.RunPython.noop)]
