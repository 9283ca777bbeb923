"""Writing many rows' fields in one statement whose text does not grow with the rows.

Django's ``bulk_update`` writes ``CASE WHEN id = … THEN …`` for every row and field: for a
wave of ten attempts and nine fields it built 90 expressions, and psycopg parsed a statement
of hundreds of placeholders, each time (a quarter of forwarding's time, docs/performance.md).
On PostgreSQL this sends one array a column instead (``UPDATE … FROM unnest(…)``); new rows
go as one JSON document (``json_recordset``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connections, models

from mpbraze import jsoncodec


def rows_update(model: type[models.Model], rows: Sequence[Any], fields: Sequence[str]) -> int:
    """Save ``fields`` of ``rows`` (instances of ``model`` with a primary key) in one
    statement; returns the number of rows updated."""
    if not rows:
        return 0
    manager = model._default_manager
    db = connections[manager.db]
    if db.vendor != "postgresql":
        return int(manager.bulk_update(rows, fields))
    quote = db.ops.quote_name
    by_name = {field.name: field for field in model._meta.concrete_fields}
    chosen = [next(field for field in by_name.values() if field.primary_key)]
    chosen += [by_name[name] for name in fields]
    columns = [
        [field.get_db_prep_save(getattr(row, field.attname), db) for row in rows]
        for field in chosen
    ]
    names = [quote(f"v{n}") for n in range(len(chosen))]
    arrays = ", ".join(f"%s::{field.db_type(db)}[]" for field in chosen)
    assignments = ", ".join(
        f"{quote(str(field.column))} = v.{name}"
        for field, name in zip(chosen[1:], names[1:], strict=True)
    )
    table = quote(model._meta.db_table)
    sql = (  # names from the model's metadata; every value is a parameter
        f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({', '.join(names)})"  # noqa: S608
        f" WHERE {table}.{quote(str(chosen[0].column))} = v.{names[0]}"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, columns)
        return int(cursor.rowcount)


def json_recordset(
    db: Any, fields: Sequence[models.Field[Any, Any]], rows: Iterable[Sequence[Any]], alias: str
) -> tuple[str, list[str]]:
    """``SELECT * FROM jsonb_to_recordset(%s::jsonb) AS alias(column type, …)`` and its one
    parameter, for PostgreSQL: ``rows`` (values in the order of ``fields``; JSON-able, or
    datetimes) as one JSON document encoded in one call (``mpbraze.jsoncodec``).

    The statement's text does not grow with the rows, so psycopg parses it once (it caches
    statements of at most 50 parameters: a multi-row ``VALUES`` list of ten rows of twelve
    columns was parsed anew, 150 µs, on every inbound request); and no value is quoted in
    Python one by one (an array a column cost 11 % of the mapping task, each element quoted).
    """
    quote = db.ops.quote_name
    types = ", ".join(f"{quote(str(field.column))} {field.db_type(db)}" for field in fields)
    names = [str(field.column) for field in fields]
    document = jsoncodec.dumps(
        [dict(zip(names, row, strict=True)) for row in rows], default=_timestamp
    ).decode()
    # Names and types from the model's metadata; every value is in the parameter.
    sql = f"SELECT * FROM jsonb_to_recordset(%s::jsonb) AS {alias}({types})"  # noqa: S608
    return sql, [document]


def _timestamp(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
