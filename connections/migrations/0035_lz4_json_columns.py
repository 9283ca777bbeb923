"""The JSON columns written and read on the delivery path (a batch's payload, an outbox row's
objects) compressed with lz4 instead of PostgreSQL's default pglz, where the server has it.

Both are about 2 KB of JSON for a batch of 10 events, past the size where PostgreSQL compresses
a row's values (to about 480 bytes either way). Measured on 10,000 rows of the benchmark's
outbox (docs/performance.md): inserting them 498-510 ms with lz4 against 631-650 ms with
pglz, reading them back 164 ms against 207. Values written before keep their compression
until rewritten; SQLite compresses nothing.
"""

from django.db import migrations

COLUMNS = (
    ("connections_inboundbatch", "payload"),
    ("connections_delivery", "body"),
    ("connections_delivery", "more"),
)


def _has_lz4(schema_editor) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        found = cursor.fetchone()
    return bool(found and found[0])


def _compress_with(method):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql" or not _has_lz4(schema_editor):
            return  # a server built without lz4 keeps pglz
        for table_name, column_name in COLUMNS:
            table = schema_editor.quote_name(table_name)
            column = schema_editor.quote_name(column_name)
            compression = f"ALTER COLUMN {column} SET COMPRESSION {method}"
            schema_editor.execute(f"ALTER TABLE {table} {compression}")

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("connections", "0034_batch_take_hot"),
    ]

    operations = [
        migrations.RunPython(_compress_with("lz4"), _compress_with("pglz")),
    ]
