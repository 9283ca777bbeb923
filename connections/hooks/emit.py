"""What each part of mpbraze tells REST hooks: the event data, built in one place (never a
key or a secret), recorded through ``hook_event_emit``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.urls import reverse

from connections.hooks import events
from connections.hooks.events import connection_data
from connections.hooks.services import hook_event_emit, hook_events_wanted
from connections.models import BrazeOutput, Connection
from mapping.issues import Issue
from mapping.models import MappingIssue


def connection_check_finished(check: Any) -> None:
    """A connectivity check ended: ``connection.test_failed`` or ``connection.test_succeeded``."""
    passed = check.outcome == "passed"
    event = events.CONNECTION_TEST_SUCCEEDED if passed else events.CONNECTION_TEST_FAILED
    if event not in hook_events_wanted():
        return
    connection = check.output.connection
    data = {
        "connection": connection_data(connection),
        "output": {"platform": check.output.platform},
        "check": {"id": check.pk, "outcome": check.outcome, "summary": check.summary},
        "link": events.absolute_link(reverse("connection_checks", args=[connection.pk])),
    }
    hook_event_emit(event=event, connection=connection, data=data, dedupe_key=f"check:{check.pk}")


def connection_paused(connection: Connection, reason: str) -> None:
    data = {"connection": connection_data(connection), "reason": reason}
    hook_event_emit(event=events.CONNECTION_PAUSED, connection=connection, data=data)


def connection_resumed(connection: Connection) -> None:
    data = {"connection": connection_data(connection)}
    hook_event_emit(event=events.CONNECTION_RESUMED, connection=connection, data=data)


def connection_updated(
    connection: Connection, *, changed: list[str], output: BrazeOutput | None = None, action: str
) -> None:
    """``action``: ``updated``, ``output_created``, ``output_updated``, ``output_deleted`` or
    ``instance_changed`` (every output moved to another Braze instance);
    ``changed`` names the fields (``api_key`` when the key changed, never the key)."""
    if not changed and action in ("updated", "output_updated"):
        return
    data: dict[str, Any] = {
        "connection": connection_data(connection),
        "action": action,
        "changed": changed,
    }
    if output is not None:
        data["output"] = {"platform": output.platform}
    hook_event_emit(event=events.CONNECTION_UPDATED, connection=connection, data=data)


def mapping_issues_detected(
    *, connection_id: int, output_id: int, issues: Sequence[Issue], now: datetime
) -> None:
    """Issue rows that ``mapping_issues_record`` created at ``now`` (their first sighting) are
    announced, once per row; nothing is read while no hook wants them."""
    if not issues or events.MAPPING_ISSUE_DETECTED not in hook_events_wanted():
        return
    keys = {(issue.kind.value, issue.field_path) for issue in issues}
    new = MappingIssue.objects.filter(
        connection_id=connection_id,
        output_id=output_id,
        first_seen=now,
        kind__in={kind for kind, _ in keys},
        field_path__in={path for _, path in keys},
    ).select_related("connection", "output")
    for row in new:
        if (row.kind, row.field_path) in keys:
            mapping_issue_detected(row)


def mapping_issue_detected(issue: Any) -> None:
    """A mapping issue seen for the first time (once per issue row)."""
    data = {
        "connection": connection_data(issue.connection),
        "output": {"platform": issue.output.platform},
        "issue": {
            "id": issue.pk,
            "kind": issue.kind,
            "problem": issue.get_kind_display(),
            "field": issue.field_path,
            "action": issue.action,
            "first_seen": issue.first_seen.isoformat().replace("+00:00", "Z"),
        },
    }
    hook_event_emit(
        event=events.MAPPING_ISSUE_DETECTED,
        connection=issue.connection,
        data=data,
        dedupe_key=f"mapping_issue:{issue.pk}",
    )
