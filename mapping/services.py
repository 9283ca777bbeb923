"""Recording mapping issues: one upsert per (connection, output, kind, field) and batch.

A million bad events make one row with a count of a million, not a million rows: issues of a
batch are first counted in memory, then written with ``INSERT … ON CONFLICT DO UPDATE``
(PostgreSQL and SQLite both have it), so concurrent workers add to the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db import connection as db
from django.db import models

from mapping.issues import Issue
from mapping.models import MappingIssue
from mapping.objects import BrazeObject


@dataclass
class _Group:
    first: Issue
    count: int = 0


def _grouped(issues: Sequence[Issue]) -> dict[tuple[str, str], _Group]:
    groups: dict[tuple[str, str], _Group] = {}
    for issue in issues:
        group = groups.setdefault((issue.kind.value, issue.field_path), _Group(issue))
        group.count += 1
    return groups


def _sample(
    payload: Any, objects: Sequence[BrazeObject], event_index: int | None
) -> tuple[Any, list[dict[str, Any]]]:
    events = payload.get("events") if isinstance(payload, dict) else None
    if event_index is not None and isinstance(events, list) and event_index < len(events):
        event = events[event_index]
    else:
        event = (
            {"user_attributes": payload.get("user_attributes")}
            if isinstance(payload, dict)
            else None
        )
    sent = [{"kind": o.kind.value, "body": o.body} for o in objects if o.event_index == event_index]
    return event, sent


def mapping_issues_record(
    *,
    connection_id: int,
    output_id: int,
    issues: Sequence[Issue],
    payload: Any,
    objects: Sequence[BrazeObject],
    now: datetime,
) -> int:
    """Add this batch's issues to the aggregated rows; returns the number of rows touched.
    Rows first seen now have ``first_seen == now`` (REST hooks announce those)."""
    groups = _grouped(issues)
    if not groups:
        return 0
    rows = []
    for group in groups.values():
        event, sent = _sample(payload, objects, group.first.event_index)
        rows.append(_row(connection_id, output_id, group, event, sent, now))
    with db.cursor() as cursor:
        cursor.executemany(_upsert_sql(), rows)
    return len(rows)


def _row(
    connection_id: int, output_id: int, group: _Group, event: Any, sent: Any, now: datetime
) -> list[Any]:
    def prep(name: str, value: Any) -> Any:
        field = cast(models.Field[Any, Any], MappingIssue._meta.get_field(name))
        return field.get_db_prep_save(value, db)

    issue = group.first
    return [
        connection_id,
        output_id,
        issue.kind.value,
        issue.field_path,
        issue.action.value,
        issue.example[:100],
        group.count,
        prep("first_seen", now),
        prep("last_seen", now),
        prep("sample_event", event),
        prep("sample_sent", sent),
    ]


def _upsert_sql() -> str:
    table = db.ops.quote_name(MappingIssue._meta.db_table)
    columns = (
        "connection_id, output_id, kind, field_path, action, example_value, count, "
        "first_seen, last_seen, sample_event, sample_sent"
    )
    # The table name comes from the model; every value is a query parameter.
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * 11)}) "  # noqa: S608
        "ON CONFLICT (connection_id, output_id, kind, field_path) DO UPDATE SET "
        f"count = {table}.count + EXCLUDED.count, last_seen = EXCLUDED.last_seen, "
        # A sample cleared by retention comes back with the next occurrence; one kept stays.
        f"sample_event = COALESCE({table}.sample_event, EXCLUDED.sample_event), "
        f"sample_sent = COALESCE({table}.sample_sent, EXCLUDED.sample_sent)"
    )
