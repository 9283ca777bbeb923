"""Examples recorded before 0003 are Python reprs (``{'a': 1}``, ``True``): rewrite the ones
that read back as Python literals as JSON text (``{"a": 1}``, ``true``). Examples cut at 100
characters do not read back and stay as they are; strings were never quoted and are left."""

from __future__ import annotations

import ast
import json

from django.db import migrations

LENGTH = 100


def as_json(text):
    if not text or text[0] not in "{[(" and text not in ("True", "False"):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:LENGTH]
    except (TypeError, ValueError):
        return None


def examples_to_json(apps, schema_editor):
    issue_model = apps.get_model("mapping", "MappingIssue")
    for pk, example in issue_model.objects.values_list("pk", "example_value").iterator():
        converted = as_json(example)
        if converted is not None and converted != example:
            issue_model.objects.filter(pk=pk).update(example_value=converted)


class Migration(migrations.Migration):
    dependencies = [("mapping", "0003_issue_labels")]
    operations = [migrations.RunPython(examples_to_json, migrations.RunPython.noop)]
