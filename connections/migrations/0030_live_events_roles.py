from __future__ import annotations

from django.db import migrations

from connections.roles import AUDITOR, MARKETER, OPS, grant


def grant_live_events(apps, schema_editor):
    for role in (MARKETER, AUDITOR, OPS):
        grant(apps, role, ["view_live_events"], "connections")
    grant(apps, OPS, ["view_unredacted_live_events"], "connections")


class Migration(migrations.Migration):
    dependencies = [("connections", "0029_live_events_redaction")]

    operations = [migrations.RunPython(grant_live_events, migrations.RunPython.noop)]
