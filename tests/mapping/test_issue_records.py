"""MappingIssue rows: aggregated per (connection, output, kind, field) by a single upsert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from connections.models import Connection
from mapping.issues import Issue, IssueAction, IssueKind
from mapping.models import MappingIssue
from mapping.services import mapping_issues_record
from tests.conftest import add_output

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 1, tzinfo=UTC)
PAYLOAD = {"events": [{"event_type": "custom_event", "data": {"custom_attributes": {"tags": [1]}}}]}


def array_issue(path: str = "events[0].custom_attributes.tags") -> Issue:
    return Issue(IssueKind.ARRAY_IN_EVENT_PROPERTY, path, "[1]", IssueAction.DROPPED_FIELD, 0)


def record(connection: Connection, output_id: int, issues: list[Issue], now: datetime) -> int:
    return mapping_issues_record(
        connection_id=connection.pk,
        output_id=output_id,
        issues=issues,
        payload=PAYLOAD,
        objects=[],
        now=now,
    )


def test_many_identical_issues_make_one_row_with_their_count(connection: Connection) -> None:
    output = add_output(connection, "ios", "ios-key-0001")
    assert record(connection, output.pk, [array_issue()] * 1000, T0) == 1
    record(connection, output.pk, [array_issue()] * 500, T0 + timedelta(hours=1))
    row = MappingIssue.objects.get()
    assert (row.count, row.first_seen, row.last_seen) == (1500, T0, T0 + timedelta(hours=1))
    assert row.kind == "array_in_event_property"
    assert row.sample_event == PAYLOAD["events"][0]


def test_different_fields_and_outputs_make_separate_rows(connection: Connection) -> None:
    ios = add_output(connection, "ios", "ios-key-0001")
    web = add_output(connection, "web", "web-key-0002")
    record(connection, ios.pk, [array_issue("a"), array_issue("b")], T0)
    record(connection, web.pk, [array_issue("a")], T0)
    assert MappingIssue.objects.count() == 3


def test_an_auditor_reads_mapping_issues_in_the_admin_and_no_one_edits(
    connection: Connection, auditor: User, marketer: User
) -> None:
    output = add_output(connection, "ios", "ios-key-0001")
    record(connection, output.pk, [array_issue()] * 3, T0)
    issue = MappingIssue.objects.get()
    client = Client()
    client.force_login(auditor)
    listing = client.get(reverse("admin:mapping_mappingissue_changelist") + "?q=tags")
    assert listing.status_code == 200
    assert "events[0].custom_attributes.tags" in listing.content.decode()
    detail = client.get(reverse("admin:mapping_mappingissue_change", args=[issue.pk]))
    page = detail.content.decode()
    assert "Sample source event" in page
    assert "custom_event" in page
    assert 'name="_save"' not in page
    delete = client.post(reverse("admin:mapping_mappingissue_delete", args=[issue.pk]))
    assert delete.status_code == 403
    assert MappingIssue.objects.exists()


def test_a_sample_cleared_by_retention_comes_back_with_the_next_occurrence(
    connection: Connection,
) -> None:
    output = add_output(connection, "ios", "ios-key-0001")
    record(connection, output.pk, [array_issue()], T0)
    MappingIssue.objects.update(sample_event=None, sample_sent=None)  # as retention leaves it
    record(connection, output.pk, [array_issue()], T0 + timedelta(days=40))
    row = MappingIssue.objects.get()
    assert row.sample_event == PAYLOAD["events"][0]
    assert row.sample_sent == []
    kept = {"event_type": "kept"}
    MappingIssue.objects.update(sample_event=kept)
    record(connection, output.pk, [array_issue()], T0 + timedelta(days=41))
    assert MappingIssue.objects.get().sample_event == kept  # a sample still there stays


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("{'a': 1}", '{"a": 1}'),
        ("[1, 'x', None]", '[1, "x", null]'),
        ("True", "true"),
        ("plain text", "plain text"),
        ("{'cut': 'at a hundred chara", "{'cut': 'at a hundred chara"),
        ("", ""),
    ],
)
def test_the_migration_rewrites_old_python_repr_examples_as_json(stored: str, shown: str) -> None:
    import importlib

    migration = importlib.import_module("mapping.migrations.0004_examples_as_json")
    converted = migration.as_json(stored)
    assert (stored if converted is None else converted) == shown


def test_the_migration_updates_stored_rows(connection: Connection) -> None:
    import importlib

    from django.apps import apps

    output = add_output(connection, "ios", "ios-key-0001")
    record(connection, output.pk, [array_issue()], T0)
    MappingIssue.objects.update(example_value="{'tags': [1, 2]}")
    importlib.import_module("mapping.migrations.0004_examples_as_json").examples_to_json(apps, None)
    assert MappingIssue.objects.get().example_value == '{"tags": [1, 2]}'
